"""The second step of an irreversible action on the pages (closing a review session,
withdrawing a case, closing a case at a review): the first post is checked and answered with a
page that says what will happen, whose form posts the same fields again with `confirmed=yes`.
No script is needed, and the API is unchanged (it never sees the first post)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.pages.web import render
from schemas.auth import Principal

CONFIRMED = "yes"
# Fields a confirmation page never carries over (its own are added again).
_OWN = frozenset({"csrf_token", "confirmed"})


def confirmed(form: FormData) -> bool:
    """Whether this post is the confirmation's (the second step)."""
    return form.get("confirmed") == CONFIRMED


def carried(form: FormData) -> list[tuple[str, str]]:
    """The form's fields to post again, as they came (the Idempotency-Key included, so a
    double confirmation is applied once)."""
    return [(k, v) for k, v in form.multi_items() if k not in _OWN and isinstance(v, str)]


def confirmation(
    request: Request,
    principal: Principal,
    *,
    title: str,
    consequences: Iterable[str],
    action: str,
    fields: Iterable[tuple[str, str]],
    confirm_label: str,
    back: str,
    facts: Mapping[str, str] | None = None,
) -> Response:
    """The page that asks: what will happen, a button that does it, a way back."""
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "consequences": list(consequences),
            "facts": list((facts or {}).items()),
            "action": action,
            "fields": list(fields),
            "confirm_label": confirm_label,
            "back": back,
        },
        principal=principal,
    )
