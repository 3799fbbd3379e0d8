"""The attachments routes (api/routes/attachments.py) on the folder and S3 stores and on
SQLite and PostgreSQL, with the real clamd: upload, scan, re-encode, serve and refuse; the
out-of-scope officer's 404; publication and deletion in the audit trail."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.audit import entries
from core.models import Complaint
from core.settings import Settings
from harness.attachments import EICAR, large_photo, pdf, photo
from harness.factories import auth_headers, insert_case, named_headers
from schemas.auth import Role
from tests.helpers import api_client


@pytest.fixture
async def api(
    attachment_settings: Settings, any_engine: Engine, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(attachment_settings, engine=any_engine, client=dev_env.client)
    async with api_client(app, authorized=False) as client:
        yield client


def files_path(case: Complaint) -> str:
    return f"/v1/complaints/{case.year}/{case.sequence}/attachments"


def upload(data: bytes, name: str = "IMG_20261206.jpg", kind: str | None = None) -> dict[str, Any]:
    form: dict[str, Any] = {"files": {"file": (name, data, "application/octet-stream")}}
    if kind is not None:
        form["data"] = {"kind": kind}
    return form


async def test_a_photo_is_taken_cleaned_and_served_safely(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    case = insert_case(any_engine, district="Ranchi")
    telecaller = auth_headers(any_engine, Role.TELECALLER)
    key = {"Idempotency-Key": "photo-1"}
    sent = photo("JPEG")
    created = await api.post(files_path(case), **upload(sent), headers={**telecaller, **key})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["media_type"] == "image/jpeg" and body["kind"] == "evidence"
    assert body["public"] is False and body["filename"] == "IMG_20261206.jpg"
    assert (body["width"], body["height"]) == (480, 640)

    # A retry (same key, same file) answers the same reference; nothing new is stored.
    again = await api.post(files_path(case), **upload(sent), headers={**telecaller, **key})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == body["id"]
    listed = (await api.get(files_path(case), headers=telecaller)).json()
    assert listed["count"] == 1 and [a["id"] for a in listed["data"]] == [body["id"]]

    served = await api.get(body["links"]["content"], headers=telecaller)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert "default-src 'none'" in served.headers["content-security-policy"]
    assert served.headers["content-disposition"].startswith("inline; filename=")
    assert int(served.headers["content-length"]) == body["size"] == len(served.content)
    with Image.open(io.BytesIO(served.content)) as image:
        assert not image.getexif().get_ifd(0x8825) and dict(image.getexif()) == {}
    thumb = await api.get(body["links"]["thumbnail"], headers=telecaller)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"

    # The same key with another file is a conflict, named.
    other = await api.post(
        files_path(case), **upload(photo("PNG", seed=5), "b.png"), headers={**telecaller, **key}
    )
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_refusals_name_what_is_wrong(api: httpx.AsyncClient, any_engine: Engine) -> None:
    case = insert_case(any_engine, district="Ranchi")
    headers = named_headers(any_engine, "tc-refusals", Role.TELECALLER)

    infected = await api.post(files_path(case), **upload(EICAR, "letter.pdf"), headers=headers)
    assert infected.status_code == 422
    assert infected.json()["errors"][0]["field"] == "file"
    assert "virus" in infected.json()["detail"] and "quarantined" in infected.json()["detail"]
    trail = [e for e in entries(any_engine, subject="tc-refusals") if e.status_code == 422]
    assert "attachment_quarantined" in trail[0].summary and "Eicar" in trail[0].summary
    assert trail[0].complaint_sequence == case.sequence

    script = await api.post(
        files_path(case), **upload(pdf(javascript=True), "atr.pdf"), headers=headers
    )
    assert script.status_code == 422 and "JavaScript" in script.json()["detail"]
    html = await api.post(files_path(case), **upload(b"<html>hi</html>", "x.jpg"), headers=headers)
    assert html.status_code == 415 and html.json()["errors"][0]["field"] == "file"
    # A control character in the part's file name (httpx would escape it: sent raw).
    raw = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x07b.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo() + b"\r\n--b--\r\n"
    )
    control = await api.post(
        files_path(case),
        content=raw,
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert control.status_code == 422 and control.json()["errors"][0]["field"] == "filename"
    wrong_kind = await api.post(
        files_path(case), **upload(photo(), kind="action_taken_report"), headers=headers
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "kind"
    assert (await api.get(files_path(case), headers=headers)).json()["count"] == 0

    document = await api.post(files_path(case), **upload(pdf(), "atr.pdf"), headers=headers)
    assert document.status_code == 201, document.text
    served = await api.get(document.json()["links"]["content"], headers=headers)
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment; filename=")
    assert served.content == pdf()


async def test_a_file_over_the_limit_is_refused_before_it_is_read(
    attachment_settings: Settings, any_engine: Engine, dev_env: WorkflowEnvironment
) -> None:
    attachment_settings.attachment_max_bytes = 200_000
    app = create_app(attachment_settings, engine=any_engine, client=dev_env.client)
    case = insert_case(any_engine, district="Ranchi")
    async with api_client(app, authorized=False) as api:
        headers = auth_headers(any_engine, Role.TELECALLER)
        answer = await api.post(files_path(case), **upload(large_photo(1.0)), headers=headers)
        assert answer.status_code == 413
        assert (await api.get(files_path(case), headers=headers)).json()["count"] == 0


async def test_out_of_scope_is_not_found_and_officers_add_the_action_taken_report(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    case = insert_case(any_engine, district="Ranchi", assigned_officer_id="nodal-district-ranchi")
    telecaller = auth_headers(any_engine, Role.TELECALLER)
    added = await api.post(files_path(case), **upload(photo()), headers=telecaller)
    assert added.status_code == 201
    content = added.json()["links"]["content"]

    dhanbad = auth_headers(any_engine, Role.NODAL_OFFICER, district="Dhanbad")
    missing = f"/v1/complaints/{case.year}/999999999/attachments"
    for url in (files_path(case), content, f"{content}?variant=thumbnail"):
        hidden = await api.get(url, headers=dhanbad)
        assert hidden.status_code == 404, url
        assert hidden.json() == {"detail": f"no complaint {case.sequence}/{case.year}"}
    unknown = await api.get(missing, headers=dhanbad)
    assert unknown.status_code == 404
    assert set(unknown.headers) == set((await api.get(content, headers=dhanbad)).headers)
    refused = await api.post(files_path(case), **upload(photo(seed=2)), headers=dhanbad)
    assert refused.status_code == 404

    ranchi = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    assert (await api.get(content, headers=ranchi)).status_code == 200
    report = await api.post(
        files_path(case), **upload(pdf(), "atr.pdf", kind="action_taken_report"), headers=ranchi
    )
    assert report.status_code == 201, report.text
    assert report.json()["kind"] == "action_taken_report"
    only_atr = await api.get(
        files_path(case), params={"kind": "action_taken_report"}, headers=ranchi
    )
    assert [a["id"] for a in only_atr.json()["data"]] == [report.json()["id"]]


async def test_an_integration_adds_files_to_the_cases_it_registered(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    mine = insert_case(any_engine, district="Ranchi")
    theirs = insert_case(any_engine, district="Ranchi")
    with any_engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE complaint SET registered_by = 'portal-x' WHERE id = :id"),
            {"id": mine.id},
        )
    portal = named_headers(any_engine, "portal-x", Role.INTEGRATION)
    assert (await api.post(files_path(mine), **upload(photo()), headers=portal)).status_code == 201
    assert (
        await api.post(files_path(theirs), **upload(photo()), headers=portal)
    ).status_code == 404
    # It registers and adds; it does not read cases.
    assert (await api.get(files_path(mine), headers=portal)).status_code == 403


async def test_staff_publish_and_only_an_administrator_removes_with_a_reason(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    case = insert_case(any_engine, district="Ranchi")
    telecaller = auth_headers(any_engine, Role.TELECALLER)
    added = (await api.post(files_path(case), **upload(photo()), headers=telecaller)).json()
    one = f"{files_path(case)}/{added['id']}"
    nodal = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    assert (
        await api.post(f"{one}/publication", json={"public": True}, headers=nodal)
    ).status_code == 403
    published = await api.post(f"{one}/publication", json={"public": True}, headers=telecaller)
    assert published.status_code == 200 and published.json()["public"] is True

    assert (
        await api.post(f"{one}/deletion", json={"reason": "personal_data"}, headers=telecaller)
    ).status_code == 403
    admin = named_headers(any_engine, "admin-remover", Role.ADMINISTRATOR)
    no_reason = await api.post(f"{one}/deletion", json={}, headers=admin)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    removed = await api.post(f"{one}/deletion", json={"reason": "personal_data"}, headers=admin)
    assert removed.status_code == 204
    assert (await api.get(one, headers=telecaller)).status_code == 404
    assert (await api.get(files_path(case), headers=telecaller)).json()["count"] == 0
    trail = entries(any_engine, subject="admin-remover")
    assert [e.summary for e in trail if e.status_code == 204] == [
        "delete_attachment; reason=personal_data"
    ]
