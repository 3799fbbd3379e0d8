"""Open311 GeoReport v2 documents (wiki.open311.org/GeoReport_v2) and their two encodings.

Every answer of `/open311/v2/` is one of these models, written as JSON (`application/json`)
or XML (`text/xml`) by `render`. The XML is built with `xml.etree.ElementTree`: the root and
item element names are the spec's (`<services><service>`, `<service_requests><request>`,
`<errors><error>`, `<attributes><attribute>`, `<values><value>`...); a field without a value is
an empty element, as the spec's examples show it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from pydantic import BaseModel, field_serializer

from schemas.calendar import IST

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


class Format(StrEnum):
    """The suffix of every Open311 path: `services.xml`, `requests.json`."""

    XML = "xml"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return "text/xml" if self is Format.XML else "application/json"


def w3c(moment: datetime | None) -> str | None:
    """A moment in the W3C format the spec asks for, in IST to the second
    (`2026-11-30T10:15:00+05:30`)."""
    if moment is None:
        return None
    return moment.astimezone(IST).replace(microsecond=0).isoformat()


class Open311Model(BaseModel):
    """Times are written in the W3C format, in IST."""

    @field_serializer("*", when_used="always")
    def _times(self, value: Any) -> Any:
        return w3c(value) if isinstance(value, datetime) else value


class AttributeValue(Open311Model):
    key: str
    name: str


class Attribute(Open311Model):
    """One attribute of a service definition: what a POST sends as `attribute[code]`."""

    variable: bool = True
    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    datatype_description: str | None = None
    order: int
    description: str
    values: list[AttributeValue] | None = None


class Service(Open311Model):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str  # realtime | batch | blackbox
    keywords: str
    group: str


class ServiceDefinition(Open311Model):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(Open311Model):
    """A request as GET shows it to anyone: no personal field is ever filled (name, phone,
    address, the citizen's own words), only what a citizen's tracking page shows."""

    service_request_id: str
    status: str  # open | closed
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str | None = None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class RequestCreated(Open311Model):
    """What POST requests answers: the request's id (and its token, which is the same)."""

    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None = None


class RequestToken(Open311Model):
    service_request_id: str
    token: str


class RequestUpdate(Open311Model):
    """mySociety's `servicerequestupdates` extension: the state a request reached."""

    update_id: str
    service_request_id: str
    status: str  # open | closed
    updated_datetime: datetime
    description: str
    media_url: str | None = None


class Error(Open311Model):
    code: int
    description: str


class Endpoint(Open311Model):
    specification: str = SPECIFICATION
    url: str
    changeset: datetime
    type: str = "production"
    formats: list[str]


class Discovery(Open311Model):
    changeset: datetime
    contact: str
    key_service: str
    endpoints: list[Endpoint]


# The element of each item of a list, by the list's element (the spec's names).
ITEM_ELEMENT = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


# Characters XML 1.0 cannot carry at all, not even escaped (an error may echo what a client
# sent): written as their code point instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub(lambda m: f"U+{ord(m[0]):04X}", str(value))


def _element(tag: str, value: Any) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(ITEM_ELEMENT[tag], item))
    elif value is not None:
        element.text = _scalar(value)
    return element


def to_xml(root: str, document: Any) -> bytes:
    """`document` (JSON-like: dicts, lists, scalars) as an XML document whose root element is
    `root`; lists' items take the element `ITEM_ELEMENT` names."""
    return bytes(
        ElementTree.tostring(_element(root, document), encoding="utf-8", xml_declaration=True)
    )


def render(root: str, content: BaseModel | list[Any], fmt: Format) -> bytes:
    """`content` encoded in `fmt`: a list is a JSON array / `<root>` of items, one model a
    JSON object / `<root>` with its fields."""
    document = (
        [item.model_dump(mode="json") for item in content]
        if isinstance(content, list)
        else content.model_dump(mode="json")
    )
    if fmt is Format.JSON:
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    return to_xml(root, document)


# `2026-1`: the registration number `1/2026` in a form that fits a URL path segment.
_REQUEST_ID = re.compile(r"([0-9]{4})-([0-9]{1,10})")


def service_request_id(year: int, sequence: int) -> str:
    """The Open311 id of the case `sequence/year`."""
    return f"{year}-{sequence}"


def parse_service_request_id(value: str) -> tuple[int, int] | None:
    """(year, sequence) of an Open311 id (`2026-1`); None when it is not one."""
    match = _REQUEST_ID.fullmatch(value.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2])
