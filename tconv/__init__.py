"""Shared helpers for the Transposed Convolutions module.

Import what you need from the submodules (``tconv.ops``, ``tconv.widgets``,
``tconv.plotting``); importing the package itself does nothing else.
"""
