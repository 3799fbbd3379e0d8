"""The 422 the API answers is the one it publishes, in words a person can read (a kind of bad
input: the OpenAPI document described FastAPI's default 422, `/docs` offered example bodies
with `"submitted_by": ""` that the API refuses, messages began "Value error, ", and invalid
JSON was reported as field "1")."""

from __future__ import annotations

import httpx

from harness.factories import complaint_body

ACTORS = {
    "submitted_by",
    "telecaller",
    "decided_by",
    "closed_by",
    "recorded_by",
    "requested_by",
    "via",
}


async def test_the_published_422_is_the_answered_422(app_http: httpx.AsyncClient) -> None:
    schema = (await app_http.get("/openapi.json")).json()
    published = schema["components"]["schemas"]["HTTPValidationError"]
    assert set(published["properties"]) == {"detail", "errors"}
    assert set(published["properties"]["errors"]["items"]["properties"]) >= {"field", "message"}
    answer = await app_http.post("/v1/complaints", json=complaint_body(citizen__phone="12"))
    assert answer.status_code == 422
    assert set(answer.json()) == {"detail", "errors"}
    assert set(answer.json()["errors"][0]) >= {"field", "message"}


async def test_request_bodies_publish_no_field_the_api_takes_from_the_token(
    app_http: httpx.AsyncClient,
) -> None:
    document = (await app_http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    bodies: dict[str, set[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media["schema"].get("$ref", "")
                name = ref.rsplit("/", 1)[-1]
                if name:
                    bodies[f"{method.upper()} {path}"] = set(schemas[name].get("properties", {}))
    # The case actions and the review sessions' actions are among them.
    assert {
        "POST /v1/complaints/{year}/{sequence}/report",
        "POST /v1/complaints/{year}/{sequence}/callback",
        "POST /v1/complaints/{year}/{sequence}/review-request",
        "POST /v1/complaints/{year}/{sequence}/withdraw",
        "POST /v1/complaints/{year}/{sequence}/reopen",
        "POST /v1/complaints/{year}/{sequence}/decision",
        "POST /v1/reviews/{kind}/{day}/decisions",
        "POST /v1/reviews/{kind}/{day}/close",
    } <= set(bodies)
    for route, properties in bodies.items():
        assert not properties & ACTORS, (route, properties & ACTORS)


async def test_messages_read_as_sentences_and_invalid_json_names_the_body(
    app_http: httpx.AsyncClient,
) -> None:
    bad_phone = await app_http.post("/v1/complaints", json=complaint_body(citizen__phone="12"))
    message = bad_phone.json()["errors"][0]["message"]
    assert not message.startswith("Value error") and "Indian mobile number" in message
    assert "Value error" not in bad_phone.json()["detail"]
    broken = await app_http.post(
        "/v1/complaints",
        content=b'{"kind": "complaint",',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert [e["field"] for e in broken.json()["errors"]] == ["body"]
    assert "JSON" in broken.json()["errors"][0]["message"]
