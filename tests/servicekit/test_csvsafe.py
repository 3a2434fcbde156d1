"""CSV formula neutralisation: every trigger prefixed, numbers left numeric, and `restore` exact."""

from __future__ import annotations

import csv
import io

import pytest

from servicekit.csvsafe import cell, restore, value


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-3.5", "'-3.5"),  # text that reads as a number is still text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=already", "''=already"),
        ("'Tis", "'Tis"),
        ("Plain", "Plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_cell_prefixes_triggers_and_restore_undoes_it(text, written):
    assert cell(text) == written
    assert restore(cell(text)) == text


def test_numbers_stay_numbers_and_a_negative_reading_is_not_prefixed():
    buf = io.StringIO()
    csv.writer(buf).writerow([value(-3.5), value(-2), value("=1+1"), value(None), value(True)])
    assert buf.getvalue() == "-3.5,-2,'=1+1,,true\r\n"
