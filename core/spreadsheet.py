"""Every CSV the product writes, written one way: safe to open in a spreadsheet.

- **Formula injection** (OWASP, "CSV Injection"): a cell a spreadsheet would evaluate — one
  starting with `=`, `+`, `-`, `@`, a tab or a carriage return — is prefixed with a single
  quote, so Excel, LibreOffice and Google Sheets show it as text. The full-width and small
  forms of those signs (`＝ ＋ － ＠`, `﹦ ﹢ ﹣ ﹫`), which some spreadsheets fold to the ASCII
  ones, count too, and so does a sign behind leading spaces (spreadsheets skip them). Text
  is otherwise kept as typed: a complaint is a record, and the quote only stops evaluation.
- **Every cell quoted**, so a separator or a line break inside a cell stays inside it.
- **UTF-8 with a byte-order mark** and CRLF line ends: Excel opens Devanagari correctly by
  double-click only with the mark.

The HTTP side (`Cache-Control: no-store`, the attachment's name) is `api.csvfile`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO, Any

BOM = "\ufeff"
# The signs that start a formula (or a DDE call), with their full-width and small forms.
FORMULA_SIGNS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20" + "\ufe66\ufe62\ufe63\ufe6b")
# What a spreadsheet skips before it looks for a sign (spaces of any kind, line breaks).
_SKIPPED = " \u00a0\u3000\n\x0b\x0c"


def safe_cell(value: Any) -> str:
    """`value` as the text of a cell that no spreadsheet evaluates (None is empty)."""
    if value is None:
        return ""
    text = str(value)
    if not text:
        return text
    if text[0] in FORMULA_SIGNS or text.lstrip(_SKIPPED)[:1] in FORMULA_SIGNS:
        return "'" + text
    return text


def write_rows(out: IO[str], header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    """The header and the rows, every cell neutralised and quoted, onto `out`."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV file: UTF-8 with a byte-order mark, every cell safe to open."""
    buffer = io.StringIO()
    buffer.write(BOM)
    write_rows(buffer, header, rows)
    return buffer.getvalue().encode("utf-8")
