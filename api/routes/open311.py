"""`/open311/v2/`: Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2), so that existing civic
apps (FixMyStreet, city 311 apps) file and follow complaints without custom code.

A thin layer over the JSON API's own service functions: a POST registers through
`api.services.intake.register_complaint` and starts the workflow with
`workflows.start.start_complaint_workflow`, exactly as `POST /v1/complaints` does (the
acknowledgement SMS, the forwarding, the deadlines follow); a GET shows a case through
`api.services.track.tracked`, the citizen's own public view. Services are the categories of
`schemas.reference`.

- Every path ends in `.xml` or `.json`: the answer's encoding (`text/xml`, `application/json`),
  errors included. `jurisdiction_id` may be left out; naming another jurisdiction than
  OPEN311_JURISDICTION_ID is 404.
- Errors are the spec's list of `{code, description}` (`<errors><error>`): 403 for a missing or
  refused `api_key`, 404 for an unknown jurisdiction, service, request or token, 400 for
  anything else wrong with the input, naming the field; 429 when the citizen's phone has filed
  its complaints for the day. Nothing is written when a request is refused.
- `api_key` (form body, or the query string for older clients) is the token of an
  `integration` user; the complaint's channel is the client's (OPEN311_CLIENT_CHANNELS, else
  OPEN311_CHANNEL).
- A client re-sending the same post within OPEN311_DUPLICATE_WINDOW_SECONDS gets the first
  request back, not a second complaint; an `Idempotency-Key` header, when sent, decides instead.
- GET is public, as in the spec: no personal field (name, phone, address, the citizen's words)
  is ever answered.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from temporalio.service import RPCError

from api.auth import principal_from_token
from api.deps import AppStateDep
from api.errors import ApiError
from api.guard import STATUS_OF_KIND
from api.open311_media import media_url_problem, public_media, start_media_fetch
from api.ratelimit import PhoneLimitReached, RateLimited
from api.services.intake import IdempotencyConflict, RecentDuplicates, register_complaint
from api.services.track import tracked
from api.updates import ActionKey, scoped_key
from core import audit
from core.db import read_session
from core.models import Complaint, utcnow
from core.permissions import INTEGRATIONS
from core.settings import Settings
from schemas.auth import Principal
from schemas.calendar import IST, assume_ist
from schemas.complaint import ComplaintCreate
from schemas.enums import Channel, ComplaintKind, ComplaintStatus, is_open
from schemas.i18n import default_language, language_name, local_name, offered_languages
from schemas.open311 import (
    Attribute,
    AttributeValue,
    Discovery,
    Endpoint,
    Error,
    Format,
    RequestCreated,
    RequestToken,
    RequestUpdate,
    Service,
    ServiceDefinition,
    ServiceRequest,
    parse_service_request_id,
    render,
    service_request_id,
)
from schemas.reference import (
    CATEGORIES,
    CATEGORY_BY_CODE,
    DEPARTMENT_BY_CODE,
    DISTRICTS,
)
from schemas.tracking import status_english
from workflows.start import start_complaint_workflow

PREFIX = "/open311/v2"
# The spec's bounds on GET requests: a date range of at most 90 days, at most 1,000 requests.
MAX_RANGE = timedelta(days=90)
MAX_PAGE_SIZE = 1000
# When the service list last changed (the discovery document's changeset).
CHANGESET = datetime(2026, 11, 30, tzinfo=IST)
_DB_INTEGER = 2**31


class Open311Error(Exception):
    """An answer in the spec's error format: `errors` as (field or None, message)."""

    def __init__(
        self,
        status_code: int,
        errors: Sequence[tuple[str | None, str]],
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join(m for _, m in errors))
        self.status_code = status_code
        self.errors = list(errors)
        self.headers = headers

    @classmethod
    def bad(cls, field: str, message: str) -> Open311Error:
        return cls(400, [(field, message)])


def _format_of(request: Request) -> Format:
    # An unknown suffix is answered in XML, the format every Open311 client reads.
    fmt = request.path_params.get("fmt")
    if fmt is None:  # an unknown path: its suffix, if it has one
        fmt = request.url.path.rsplit(".", 1)[-1]
    return Format.JSON if fmt == Format.JSON else Format.XML


def error_response(
    status_code: int,
    errors: Sequence[tuple[str | None, str]],
    fmt: Format,
    headers: dict[str, str] | None = None,
) -> Response:
    """The spec's error list, each description naming its field (`phone: ...`)."""
    items = [
        Error(code=status_code, description=f"{field}: {message}" if field else message)
        for field, message in errors
    ]
    return Response(
        render("errors", items, fmt),
        status_code=status_code,
        media_type=fmt.media_type,
        headers=headers,
    )


def guard_answer(path: str, kind: str, field: str | None, message: str) -> Response:
    """The request guard's refusals (`api.guard`) under the prefix, in the spec's error
    format and the path's encoding: 400 naming the field, 413 for a body too large, 415 for a
    body of a type nothing reads."""
    fmt = Format.JSON if path.rsplit(".", 1)[-1] == Format.JSON else Format.XML
    status = STATUS_OF_KIND[kind] if kind in ("too_large", "unsupported_media_type") else 400
    return error_response(status, [(field, message)], fmt)


def _validation_errors(err: RequestValidationError) -> list[tuple[str | None, str]]:
    found: list[tuple[str | None, str]] = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"] if p not in ("query", "path", "header", "body")]
        found.append((".".join(loc) or None, str(e["msg"]).removeprefix("Value error, ")))
    return found


class Open311Route(APIRoute):
    """A route whose every refusal is in the spec's error format, in the path's encoding."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            fmt = _format_of(request)
            try:
                return await handler(request)
            except Open311Error as err:
                return error_response(err.status_code, err.errors, fmt, err.headers)
            except RequestValidationError as err:
                if any(tuple(e["loc"]) == ("path", "fmt") for e in err.errors()):
                    unknown = request.path_params.get("fmt")
                    message = f"unknown format {unknown!r}: use .xml or .json"
                    return error_response(404, [(None, message)], fmt)
                return error_response(400, _validation_errors(err), fmt)
            except RateLimited as err:
                headers = {"Retry-After": str(err.retry_after)}
                return error_response(429, [(None, err.detail)], fmt, headers)
            except ApiError as err:
                status = 400 if err.status_code == 422 else err.status_code
                return error_response(status, [(None, err.detail)], fmt, err.extra.get("headers"))
            except HTTPException as err:
                return error_response(err.status_code, [(None, str(err.detail))], fmt)

        return route


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)

JurisdictionId = Annotated[
    str | None,
    Query(description="Optional; another jurisdiction than this endpoint's is 404."),
]


def _answer(root: str, content: Any, fmt: Format, status_code: int = 200) -> Response:
    return Response(render(root, content, fmt), status_code=status_code, media_type=fmt.media_type)


def check_jurisdiction(settings: Settings, value: str | None) -> None:
    """404 when `value` names another jurisdiction than this endpoint's (None: served)."""
    if value is not None and value.strip() != settings.open311_jurisdiction_id:
        raise Open311Error(
            404,
            [
                (
                    "jurisdiction_id",
                    f"unknown jurisdiction {value!r}: this endpoint serves "
                    f"{settings.open311_jurisdiction_id!r}",
                )
            ],
        )


# ---- discovery and services ---------------------------------------------------------------


@router.get("/discovery.{fmt}", summary="Open311 discovery")
async def discovery(fmt: Format, app: AppStateDep) -> Response:
    """Where this endpoint is and what it speaks (`<discovery>`)."""
    out = fmt
    base = app.settings.public_base_url.rstrip("/") + PREFIX
    document = Discovery(
        changeset=CHANGESET,
        contact=f"Mukhyamantri Jan Samvad Kendra, helpline {app.settings.helpline_number}",
        key_service=f"{base}/ (api_key: an integration token from the centre's administrator)",
        endpoints=[
            Endpoint(url=base, changeset=CHANGESET, formats=["text/xml", "application/json"])
        ],
    )
    return _answer("discovery", document, out)


def _service(code: str) -> Service:
    category = CATEGORY_BY_CODE[code]
    department = DEPARTMENT_BY_CODE[category.department]
    urgent = " Urgent: sent at once to the department's officers." if category.urgent else ""
    return Service(
        service_code=code,
        service_name=in_every_language("subject", category.label),
        description=f"{in_every_language('subject', category.label)}: "
        f"{in_every_language('department', department.name)}.{urgent}",
        metadata=True,
        type="realtime",
        keywords=", ".join([code, *code.split("_")]) if "_" in code else code,
        group=department.name,
    )


@router.get("/services.{fmt}", summary="Open311 services (our categories)")
async def services(
    fmt: Format, app: AppStateDep, jurisdiction_id: JurisdictionId = None
) -> Response:
    """Every category as a service, named in English and each language offered; each has a
    definition."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    return _answer("services", [_service(c.code) for c in CATEGORIES], out)


_YES_NO = [
    AttributeValue(key="true", name="Yes / हाँ"),
    AttributeValue(key="false", name="No / नहीं"),
]

# What intake needs beyond the spec's own fields (first_name, last_name, phone,
# address_string or lat/long, description).
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        code="district",
        datatype="singlevaluelist",
        required=True,
        order=1,
        description="District of Jharkhand where the problem is / जिला",
        values=[AttributeValue(key=d, name=d) for d in DISTRICTS],
    ),
    Attribute(
        code="language",
        datatype="singlevaluelist",
        required=False,
        order=2,
        datatype_description="The language of the citizen's SMS (default: the first listed).",
        description="Language for SMS / एसएमएस की भाषा",
        values=[],  # the languages offered (LANGUAGES), filled in by `service_attributes()`
    ),
    Attribute(
        code="wishes_to_meet_cm",
        datatype="singlevaluelist",
        required=False,
        order=3,
        description="Wishes to meet the Chief Minister at Sidhi Baat / मुख्यमंत्री से मिलना चाहते हैं",
        values=_YES_NO,
    ),
    Attribute(
        code="kind",
        datatype="singlevaluelist",
        required=False,
        order=4,
        datatype_description="A suggestion is examined and answered; nothing to resolve.",
        description="Complaint or suggestion / शिकायत या सुझाव",
        values=[
            AttributeValue(key=ComplaintKind.COMPLAINT.value, name="Complaint / शिकायत"),
            AttributeValue(key=ComplaintKind.SUGGESTION.value, name="Suggestion / सुझाव"),
        ],
    ),
    Attribute(
        code="pincode",
        datatype="string",
        required=False,
        order=5,
        datatype_description="6 digits; Jharkhand's begin with 81, 82 or 83.",
        description="PIN code / पिन कोड",
    ),
)
ATTRIBUTE_CODES = frozenset(a.code for a in ATTRIBUTES)


def service_attributes() -> list[Attribute]:
    """The service attributes, the language choice listing the languages offered (LANGUAGES,
    each named in itself)."""
    languages = [
        AttributeValue(key=code, name=f"{language_name(code)} ({code})")
        for code in offered_languages()
    ]
    return [
        a.model_copy(update={"values": languages}) if a.code == "language" else a
        for a in ATTRIBUTES
    ]


def in_every_language(kind: str, english: str) -> str:
    """A name in English and in each other language offered, joined by " / " (Open311 has
    one text field where our pages have a language switch)."""
    names = [english, *(local_name(kind, english, code) for code in offered_languages())]
    return " / ".join(dict.fromkeys(names))


@router.get("/services/{service_code}.{fmt}", summary="Open311 service definition")
async def service_definition(
    service_code: str, fmt: Format, app: AppStateDep, jurisdiction_id: JurisdictionId = None
) -> Response:
    """The attributes a POST of this service carries (`attribute[district]`...)."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    if service_code not in CATEGORY_BY_CODE:
        raise Open311Error(404, [("service_code", f"unknown service {service_code!r}")])
    document = ServiceDefinition(service_code=service_code, attributes=service_attributes())
    return _answer("service_definition", document, out)


# ---- requests: public reads ----------------------------------------------------------------


def _agency(row: Complaint) -> str:
    department = DEPARTMENT_BY_CODE.get(row.department or "")
    district = f"{in_every_language('district', row.district)} (district)"
    if department is None:
        return district
    return f"{in_every_language('department', department.name)}, {district}"


def public_request(row: Complaint, media_url: str | None = None) -> ServiceRequest:
    """The case as anyone may see it: `/v1/track`'s public fields, nothing personal (a
    `media_url` only for a file staff made public)."""
    view = tracked(row)
    category = CATEGORY_BY_CODE.get(row.category or "")
    return ServiceRequest(
        service_request_id=service_request_id(row.year, row.sequence),
        status="open" if is_open(view.status) else "closed",
        status_notes=in_every_language("status", status_english(view.status)),
        service_name=_service(category.code).service_name if category else None,
        service_code=category.code if category else None,
        agency_responsible=_agency(row),
        service_notice=_notice(row.registration_number),
        requested_datetime=view.registered_at,
        updated_datetime=view.updated_at,
        expected_datetime=view.next_deadline,
        media_url=media_url,
    )


def _notice(registration_number: str) -> str:
    return (
        f"Registration number {registration_number} / पंजीकरण संख्या {registration_number} "
        "(helpline 181)"
    )


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _moment(field: str, value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return assume_ist(datetime.fromisoformat(value.strip()))
    except ValueError as err:
        message = str(err) if "must lie" in str(err) else "not a W3C date/time"
        raise Open311Error.bad(field, f"{message} (e.g. 2026-11-30T00:00:00+05:30)") from None


def _range(start: str | None, end: str | None) -> tuple[datetime, datetime | None]:
    """The spec's range: at most 90 days; the last 90 days when neither end is given, and
    then open at the end (None): a change committed while the query runs is not left out."""
    since, until = _moment("start_date", start), _moment("end_date", end)
    if since is None and until is None:
        return utcnow() - MAX_RANGE, None
    if since is None:
        assert until is not None
        since = until - MAX_RANGE
    if until is None:
        until = since + MAX_RANGE
    if until < since:
        raise Open311Error.bad("end_date", "is before start_date")
    if until - since > MAX_RANGE:
        raise Open311Error.bad("start_date", "the range may span at most 90 days")
    return since, until


def _ids(value: str) -> ColumnElement[bool]:
    wanted = _split(value)
    if len(wanted) > MAX_PAGE_SIZE:
        raise Open311Error.bad("service_request_id", f"at most {MAX_PAGE_SIZE} ids at once")
    clauses = []
    for item in wanted:
        parsed = parse_service_request_id(item)
        if parsed is None:
            raise Open311Error.bad(
                "service_request_id", f"{item!r} is not a request id (year-sequence, e.g. 2026-1)"
            )
        year, sequence = parsed
        if sequence < _DB_INTEGER:
            clauses.append(
                sa.and_(col(Complaint.year) == year, col(Complaint.sequence) == sequence)
            )
    return sa.or_(*clauses) if clauses else sa.false()


_CLOSED = (ComplaintStatus.CLOSED, ComplaintStatus.WITHDRAWN)


def _list(
    engine: Engine,
    *,
    ids: str | None,
    codes: str | None,
    statuses: str | None,
    start: str | None,
    end: str | None,
    page: int,
    page_size: int,
    base_url: str = "",
) -> list[ServiceRequest]:
    query = select(Complaint)
    if ids and _split(ids):
        # As the spec says: a list of ids overrides every other filter.
        query = query.where(_ids(ids))
    else:
        for code in _split(codes):
            if code not in CATEGORY_BY_CODE:
                raise Open311Error.bad("service_code", f"unknown service {code!r}")
        if _split(codes):
            query = query.where(col(Complaint.category).in_(_split(codes)))
        wanted = set(_split(statuses))
        if wanted - {"open", "closed"}:
            raise Open311Error.bad("status", "must be open, closed or both (comma delimited)")
        if wanted == {"open"}:
            query = query.where(col(Complaint.status).not_in(_CLOSED))
        elif wanted == {"closed"}:
            query = query.where(col(Complaint.status).in_(_CLOSED))
        since, until = _range(start, end)
        query = query.where(col(Complaint.created_at) >= since)
        if until is not None:
            query = query.where(col(Complaint.created_at) <= until)
    query = (
        query.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    with read_session(engine) as session:
        rows = session.exec(query).all()
        media = public_media(session, [r.id for r in rows if r.id is not None], base_url)
        return [public_request(row, media.get(row.id or 0)) for row in rows]


@router.get("/requests.{fmt}", summary="Open311 service requests (public fields only)")
async def list_requests(
    fmt: Format,
    app: AppStateDep,
    jurisdiction_id: JurisdictionId = None,
    service_request_id: Annotated[str | None, Query(max_length=1000)] = None,
    service_code: Annotated[str | None, Query(max_length=500)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE,
) -> Response:
    """Requests, newest first, registered within the range (at most 90 days; default the last
    90), filtered by service and status; or the ones listed by id. `page` and `page_size`
    (at most 1,000) page through them. Public: no personal field is answered."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    found = await run_in_threadpool(
        _list,
        app.engine,
        ids=service_request_id,
        codes=service_code,
        statuses=status,
        start=start_date,
        end=end_date,
        page=page,
        page_size=page_size,
        base_url=app.settings.public_base_url,
    )
    return _answer("service_requests", found, out)


def _one(engine: Engine, year: int, sequence: int) -> Complaint | None:
    if not (0 <= year < _DB_INTEGER and 0 <= sequence < _DB_INTEGER):
        return None
    with read_session(engine) as session:
        return session.exec(
            select(Complaint).where(Complaint.year == year, Complaint.sequence == sequence)
        ).first()


async def _find(engine: Engine, value: str, field: str) -> Complaint:
    parsed = parse_service_request_id(value)
    row = await run_in_threadpool(_one, engine, *parsed) if parsed else None
    if row is None:
        raise Open311Error(404, [(field, f"no request {value!r}")])
    return row


@router.get("/requests/{request_id}.{fmt}", summary="Open311 one service request")
async def get_request(
    request_id: str, fmt: Format, app: AppStateDep, jurisdiction_id: JurisdictionId = None
) -> Response:
    """One request (`2026-1`), as a list of one, with its public fields only."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    row = await _find(app.engine, request_id, "service_request_id")
    media = await run_in_threadpool(_media_of, app.engine, row, app.settings.public_base_url)
    return _answer("service_requests", [public_request(row, media)], out)


def _media_of(engine: Engine, row: Complaint, base_url: str) -> str | None:
    with read_session(engine) as session:
        return public_media(session, [row.id] if row.id else [], base_url).get(row.id or 0)


@router.get("/tokens/{token}.{fmt}", summary="Open311 request id of a token")
async def get_token(
    token: str, fmt: Format, app: AppStateDep, jurisdiction_id: JurisdictionId = None
) -> Response:
    """Requests are created at once, so a POST's token is its request id: this answers it."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    row = await _find(app.engine, token, "token")
    rid = service_request_id(row.year, row.sequence)
    return _answer("service_requests", [RequestToken(service_request_id=rid, token=rid)], out)


def _updates(engine: Engine, since: datetime, until: datetime | None) -> list[RequestUpdate]:
    query = select(Complaint).where(col(Complaint.updated_at) >= since)
    if until is not None:
        query = query.where(col(Complaint.updated_at) <= until)
    query = query.order_by(col(Complaint.updated_at).asc(), col(Complaint.id).asc()).limit(
        MAX_PAGE_SIZE
    )
    with read_session(engine) as session:
        rows = session.exec(query).all()
    updates = []
    for row in rows:
        request = public_request(row)
        updates.append(
            RequestUpdate(
                # One id per state the case reached: a client records each state once.
                update_id=f"{request.service_request_id}.{row.state_version}",
                service_request_id=request.service_request_id,
                status=request.status,
                updated_datetime=request.updated_datetime,
                description=request.status_notes or "",
            )
        )
    return updates


@router.get("/servicerequestupdates.{fmt}", summary="Open311 updates (mySociety extension)")
async def service_request_updates(
    fmt: Format,
    app: AppStateDep,
    jurisdiction_id: JurisdictionId = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The state each request reached within the range (at most 90 days; default the last
    90), oldest first, at most 1,000: what FixMyStreet pulls to show progress. Public fields
    only (the bilingual status)."""
    out = fmt
    check_jurisdiction(app.settings, jurisdiction_id)
    since, until = _range(start_date, end_date)
    found = await run_in_threadpool(_updates, app.engine, since, until)
    return _answer("service_request_updates", found, out)


# ---- requests: POST ------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"attribute\[([^\]]*)\](\[\])?")
# Where intake's validation errors point, in Open311's names.
_FIELD_NAMES = {
    "citizen.name": "first_name",
    "citizen.phone": "phone",
    "citizen.address": "address_string",
    "citizen.district": "attribute[district]",
    "citizen.pincode": "attribute[pincode]",
    "citizen.language": "attribute[language]",
    "category": "service_code",
    "description": "description",
    "kind": "attribute[kind]",
    "wishes_to_meet_cm": "attribute[wishes_to_meet_cm]",
}


# A form-encoded body: its fields in order, a name possibly repeated.
Form = list[tuple[str, str]]


def _text(form: Form, name: str) -> str | None:
    value = next((v for n, v in form if n == name), None)
    if value is None or not value.strip():
        return None
    return value.strip()


def _attributes(form: Form) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in form:
        match = _ATTRIBUTE.fullmatch(name)
        if match is None or match[1] not in ATTRIBUTE_CODES:
            continue  # other clients' attributes (FixMyStreet's report_url...) are not ours
        if match[1] in found:
            raise Open311Error.bad(name, "given more than once: it takes one value")
        found[match[1]] = value.strip()
    return found


def _choice(attributes: dict[str, str], code: str, default: str) -> str:
    value = attributes.get(code) or default
    allowed = [v.key for a in service_attributes() if a.code == code for v in a.values or []]
    if value not in allowed:
        raise Open311Error.bad(f"attribute[{code}]", f"must be one of {', '.join(allowed)}")
    return value


def _location(form: Form) -> str:
    """The address the case records: `address_string`, else the coordinates."""
    address = _text(form, "address_string")
    lat, long = _text(form, "lat"), _text(form, "long")
    if (lat is None) != (long is None):
        raise Open311Error.bad("lat" if lat is None else "long", "lat and long go together")
    coordinates = None
    if lat is not None and long is not None:
        try:
            latitude, longitude = float(lat), float(long)
        except ValueError:
            raise Open311Error.bad("lat", "lat and long must be decimal degrees") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Open311Error.bad("lat", "lat and long lie outside the globe")
        coordinates = f"{latitude:.6f}, {longitude:.6f}"
    if address is None and coordinates is None:
        raise Open311Error.bad(
            "address_string", "a location is required: address_string, or lat and long"
        )
    if address is not None and coordinates is not None:
        return f"{address} ({coordinates})"
    return address or f"Location {coordinates}"


def complaint_from_form(form: Form, channel: Channel) -> ComplaintCreate:
    """The complaint an Open311 POST describes; Open311Error 400 naming the field when it
    cannot be one (every problem of the body at once where intake's validation finds them)."""
    service_code = _text(form, "service_code")
    if service_code is None:
        raise Open311Error.bad("service_code", "is required (GET services for the list)")
    if service_code not in CATEGORY_BY_CODE:
        raise Open311Error.bad("service_code", f"unknown service {service_code!r}")
    attributes = _attributes(form)
    if not attributes.get("district"):
        raise Open311Error.bad("attribute[district]", "is required: one of the 24 districts")
    name = " ".join(n for n in (_text(form, "first_name"), _text(form, "last_name")) if n)
    if not name:
        raise Open311Error.bad("first_name", "the citizen's name is required")
    phone = _text(form, "phone")
    if phone is None:
        raise Open311Error.bad("phone", "is required: the acknowledgement goes by SMS")
    description = _text(form, "description")
    if description is None:
        raise Open311Error.bad("description", "is required: what the problem is")
    body = {
        "kind": _choice(attributes, "kind", ComplaintKind.COMPLAINT),
        "channel": channel,
        "citizen": {
            "name": name,
            "phone": phone,
            "address": _location(form),
            "district": attributes["district"],
            "pincode": attributes.get("pincode") or None,
            "language": _choice(attributes, "language", default_language()),
        },
        "category": service_code,
        "description": description,
        "wishes_to_meet_cm": _choice(attributes, "wishes_to_meet_cm", "false") == "true",
    }
    try:
        return ComplaintCreate.model_validate(body)
    except ValidationError as err:
        problems: list[tuple[str | None, str]] = []
        for e in err.errors():
            dotted = ".".join(str(p) for p in e["loc"])
            message = str(e["msg"]).removeprefix("Value error, ")
            problems.append((_FIELD_NAMES.get(dotted, dotted), message))
        raise Open311Error(400, problems) from None


async def _form(request: Request, content_type: str | None) -> Form:
    """The body's fields: the spec's POST is `application/x-www-form-urlencoded`."""
    if content_type is None or content_type.split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise Open311Error.bad("body", "must be form-encoded (application/x-www-form-urlencoded)")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Open311Error.bad("body", "is not UTF-8") from None
    return parse_qsl(text, keep_blank_values=True)


async def _integration(request: Request, api_key: str | None) -> Principal:
    """The integration client an `api_key` stands for; 403 otherwise."""
    if api_key is None:
        raise Open311Error(403, [("api_key", "is required: the integration token of your app")])
    principal = await principal_from_token(request, api_key)
    if principal is None:
        raise Open311Error(403, [("api_key", "is invalid, expired or revoked")])
    if not principal.has(*INTEGRATIONS):
        raise Open311Error(403, [("api_key", f"{principal.subject} is not an integration client")])
    return principal


@router.post(
    "/requests.{fmt}",
    summary="Open311 create a service request",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["api_key", "service_code", "phone", "description"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "api_key",
                                "jurisdiction_id",
                                "service_code",
                                "first_name",
                                "last_name",
                                "phone",
                                "email",
                                "address_string",
                                "lat",
                                "long",
                                "description",
                                "media_url",
                                *(f"attribute[{a.code}]" for a in ATTRIBUTES),
                            )
                        },
                    }
                }
            }
        }
    },
)
async def create_request(
    fmt: Format,
    request: Request,
    app: AppStateDep,
    idempotency_key: ActionKey = None,
    api_key_query: Annotated[str | None, Query(alias="api_key", max_length=500)] = None,
    jurisdiction_query: Annotated[str | None, Query(alias="jurisdiction_id")] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Register a complaint from a form-encoded Open311 POST; the citizen gets the SMS with
    the registration number, as for any complaint. 201 (202: recorded and numbered, its
    workflow starts once Temporal is back); a re-sent identical post answers the first."""
    out = fmt
    form = await _form(request, content_type)
    check_jurisdiction(app.settings, _text(form, "jurisdiction_id") or jurisdiction_query)
    principal = await _integration(request, _text(form, "api_key") or api_key_query)
    settings = app.settings
    channel = settings.open311_channel_by_client.get(principal.subject, settings.open311_channel)
    complaint = complaint_from_form(form, channel)
    media_url = _text(form, "media_url")
    problem = media_url_problem(media_url, settings) if media_url else None
    if problem is not None:
        raise Open311Error.bad("media_url", problem)
    now = utcnow()
    recent = None
    if idempotency_key is None:
        # Without a key each post is stored under one of its own, so the window can find the
        # client's earlier identical post.
        key = scoped_key(principal, f"open311:{uuid.uuid4().hex}")
        window = settings.open311_duplicate_window_seconds
        if window:
            prefix = scoped_key(principal, "open311:")
            assert prefix is not None
            recent = RecentDuplicates(key_prefix=prefix, since=now - timedelta(seconds=window))
    else:
        key = scoped_key(principal, idempotency_key)
    try:
        row, created = await run_in_threadpool(
            register_complaint,
            app.engine,
            complaint,
            idempotency_key=key,
            now=now,
            workflow_id_prefix=settings.workflow_id_prefix,
            phone_daily_limit=settings.complaints_per_phone_per_day,
            recent_duplicates=recent,
            registered_by=principal.subject,
        )
    except IdempotencyConflict:
        raise Open311Error.bad(
            "Idempotency-Key", "was already used for a different request; use a new key"
        ) from None
    except PhoneLimitReached as limited:
        refusal = limited.as_rate_limited(app.settings.helpline_number)
        raise Open311Error(
            429,
            [("phone", refusal.detail.removeprefix("citizen.phone: "))],
            headers={"Retry-After": str(refusal.retry_after)},
        ) from None
    audit.describe(
        "register",
        complaint=(row.year, row.sequence),
        kind=row.kind,
        channel=row.channel,
        district=row.district,
        via="open311",
    )
    status_code = 201
    headers = {}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    if row.workflow_started_at is None:
        try:
            await start_complaint_workflow(
                app.client, app.engine, row, policy=app.policy, settings=settings
            )
        except (RPCError, RuntimeError):
            # Recorded and numbered; the worker's reconciliation starts the workflow later.
            status_code = 202
    if media_url and created:  # fetched by a worker: bounded, checked, scanned
        await start_media_fetch(app.client, settings, row, media_url, by=principal.subject)
    rid = service_request_id(row.year, row.sequence)
    answer = RequestCreated(
        service_request_id=rid, token=rid, service_notice=_notice(row.registration_number)
    )
    return Response(
        render("service_requests", [answer], out),
        status_code=status_code,
        media_type=out.media_type,
        headers=headers,
    )


@router.api_route(
    "/{unknown:path}",
    methods=["GET", "POST"],
    include_in_schema=False,
)
async def unknown_path(unknown: str) -> Response:
    """Anything else under the prefix: 404 in the spec's format."""
    raise Open311Error(404, [(None, f"no such resource {PREFIX}/{unknown}")])
