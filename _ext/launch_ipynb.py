"""Point the launch buttons of MyST Markdown chapters at their generated ``.ipynb``.

Why this exists: sphinx-book-theme 1.3.0 builds the Binder, JupyterHub and Colab URLs from the
page's source suffix, so a chapter written as ``book/01_x.md`` gets ``.../book/01_x.md``. Colab
cannot open Markdown at all, and Binder or a hub would open it in a text editor. The theme only
switches to ``.ipynb`` when an ``.ipynb`` of the same name sits beside the source, which we must
not commit (jupyter-book would then find two sources for one page). The student release
(``make student-release``) writes that ``.ipynb`` with jupytext, so every launch URL of a
Markdown notebook page is rewritten here to name it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

# sphinx-book-theme adds its launch buttons at priority 501; run right after it.
AFTER_THEME_LAUNCH_BUTTONS = 502
MARKDOWN_SUFFIXES = (".md",)


def launch_button_group(context: dict[str, Any]) -> dict[str, Any] | None:
    """The theme's dropdown of launch buttons on this page, if it made one."""
    for button in context.get("header_buttons", []):
        if button.get("label") == "launch-buttons":
            return button
    return None


def point_launch_urls_at_ipynb(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    group = launch_button_group(context)
    source = Path(app.env.doc2path(pagename))
    if group is None or source.suffix not in MARKDOWN_SUFFIXES:
        return
    markdown_path = f"{pagename}{source.suffix}"
    notebook_path = f"{pagename}.ipynb"
    for button in group["buttons"]:
        if "url" in button:
            button["url"] = button["url"].replace(markdown_path, notebook_path)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", point_launch_urls_at_ipynb, AFTER_THEME_LAUNCH_BUTTONS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
