"""Shared helpers for the Transposed Convolutions module.

Import what you need from the submodules (``tconv.ops``, ``tconv.widgets``,
``tconv.plotting``, ``tconv.notebook``, ``tconv.tensors``); ``tconv.as_torch`` is
``tconv.tensors.as_torch``. Importing the package itself imports nothing else (not even torch,
until ``as_torch`` is first used).
"""

from __future__ import annotations


def __getattr__(name: str):
    # Lazy, so that `import tconv.ops` (students' numpy exercises) never needs torch.
    if name == "as_torch":
        from tconv.tensors import as_torch

        return as_torch
    raise AttributeError(f"module 'tconv' has no attribute {name!r}")
