"""Notebook conveniences that must work on the built site *and* on Binder, Colab or a hub.

``myst_nb.glue`` puts a computed value into the chapter's prose at build time, but myst-nb is a
build tool that students' kernels do not have. This ``glue`` uses it when it is there and
otherwise just shows the value, so a chapter opened from a launch button still runs.
"""

from __future__ import annotations

from IPython.display import display

__all__ = ["glue"]


def glue(name: str, value, display_value: bool = True) -> None:
    """Register ``value`` under ``name`` for ``{glue}`` roles when building the book."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a student's kernel: there is no book to glue into
        if display_value:
            display(value)
        return
    myst_glue(name, value, display=display_value)
