"""A CSV file as an HTTP answer: an attachment, never kept by a cache (the minutes carry
citizens' complaints and officers' names). The file itself is `core.spreadsheet`'s."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from core.spreadsheet import csv_bytes

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """`header` and `rows` as a downloadable CSV named `filename` (ASCII), `no-store`."""
    return Response(
        csv_bytes(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
