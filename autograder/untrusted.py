"""Text a submission controls, made safe to store: in UTF-8 files, in a CSV a spreadsheet
opens, within a size a reviewer can read.

Anything a student's code prints or raises, a notebook's strings, a folder or zip member name
can hold lone surrogates (``'\\udcff'``: from JSON ``\\u`` escapes, or undecodable bytes in a
file name), which no UTF-8 writer accepts; NUL, which CSV readers refuse; and any length.
"""

from __future__ import annotations

import re

MAX_TEXT = 4000  # characters of one message, one cell error, one name in a result
REPLACEMENT = "\ufffd"
# Lone surrogates, and C0 controls other than tab, newline and carriage return.
_UNWRITABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# OWASP's CSV injection list (=, +, -, @, tab, carriage return), their full-width forms, and
# line feed: a spreadsheet evaluates a cell that starts with one of them.
_FORMULA_STARTS = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """``str(value)`` with unwritable characters replaced by U+FFFD, cut to ``limit``."""
    text = _UNWRITABLE.sub(REPLACEMENT, str(value))
    if len(text) > limit:
        cut = len(text) - limit
        text = f"{text[:limit]}... [{cut} more characters]"
    return text


def clean_strings(value, limit: int = MAX_TEXT):
    """Every string inside nested dicts and lists cleaned (keys too); other values as they are."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {clean_text(k, limit): clean_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_strings(v, limit) for v in value]
    return value


def without_surrogates(value):
    """Nested JSON data with lone surrogates replaced (and nothing else touched), so that a
    parsed notebook can be written back as UTF-8."""
    if isinstance(value, str):
        return _SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    return value


def spreadsheet_cell(value: object) -> str:
    """A text cell that a spreadsheet shows as text: cleaned, and prefixed with ``'`` when it
    starts like a formula (OWASP's CSV injection advice; the CSV writer also quotes every
    field, so no separator inside it can start a new cell)."""
    text = clean_text(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
