"""CSV formula neutralisation (OWASP "CSV Injection"), written once for every CSV the suite writes.

A spreadsheet opening a CSV runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula. Every *text* cell goes through `cell`, which puts an apostrophe before such
a cell so it is shown as the text it is.

Numbers are not text: a value the writer holds as an `int` or `float` (and a Table Schema types
as `number`) is written as the number, so a negative reading stays `-3.5`, which a spreadsheet
reads as minus three and a half and which no caller can turn into a formula. A *text* cell that
happens to read "-3.5" is still prefixed: only the writer knows which is which.

`restore` undoes `cell` exactly, so a file that is read back in (the commitments import format)
round-trips: `cell` also prefixes a text that already begins with apostrophes before a trigger
character, and `restore` takes one apostrophe off such a text and leaves every other text alone.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PREFIXED = re.compile(r"'*[=+\-@\t\r]")


def cell(text: str) -> str:
    """Text a spreadsheet would read as a formula, made inert with a leading apostrophe."""
    return "'" + text if _PREFIXED.match(text) else text


def restore(text: str) -> str:
    """The text `cell` was given (one apostrophe off a neutralised cell, others unchanged)."""
    return text[1:] if text[:1] == "'" and _PREFIXED.match(text, 1) else text


def value(item: object) -> object:
    """A CSV value: numbers as they are, booleans as words, None empty, the rest as `cell` text."""
    if item is None:
        return ""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return item
    return cell(str(item))
