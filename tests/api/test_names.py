"""Names in the citizen's words: districts, departments and categories in Hindi or English, in
any case, with extra spaces, hyphens or a common other spelling, are accepted and stored in
their one canonical form, on every route that takes one."""

from __future__ import annotations

import httpx
import pytest

from harness.factories import complaint_body
from schemas.i18n import local_name
from schemas.reference import (
    CATEGORIES,
    DEPARTMENTS,
    DISTRICT_ALIASES,
    DISTRICTS,
    canonical_category,
    canonical_department,
    canonical_district,
    fold,
)


@pytest.mark.parametrize(
    ("typed", "district"),
    [
        ("रांची", "Ranchi"), ("राँची", "Ranchi"), ("  ranchi  ", "Ranchi"),
        ("RANCHI district", "Ranchi"), ("रांची जिला", "Ranchi"),
        ("Palamau", "Palamu"), ("palamu", "Palamu"), ("पलामू", "Palamu"),
        ("Sahibganj", "Sahebganj"), ("Sahebganj", "Sahebganj"), ("साहेबगंज", "Sahebganj"),
        ("Seraikela-Kharsawan", "Seraikela Kharsawan"), ("सरायकेला-खरसावाँ", "Seraikela Kharsawan"),
        ("हज़ारीबाग", "Hazaribagh"), ("Hazaribag", "Hazaribagh"),
        ("East  Singhbhum", "East Singhbhum"),
        ("पाकु\u095c", "Pakur"), ("पाकु\u0921\u093c", "Pakur"),  # ड़ precomposed, decomposed
    ],
)  # fmt: skip
def test_districts_in_the_citizens_words(typed: str, district: str) -> None:
    assert canonical_district(typed) == district


@pytest.mark.parametrize("typed", ["Gotham", "", "   ", "Ranchi Ranchi", "रां"])
def test_an_unknown_district_is_none(typed: str) -> None:
    assert canonical_district(typed) is None


def test_every_district_has_a_devanagari_name_and_no_name_means_two_districts() -> None:
    hindi = {d: local_name("district", d, "hi") for d in DISTRICTS}
    assert all(any("\u0900" <= ch <= "\u097f" for ch in name) for name in hindi.values()), hindi
    assert set(DISTRICT_ALIASES.values()) <= set(DISTRICTS)
    for district in DISTRICTS:
        assert canonical_district(district) == district
        assert canonical_district(hindi[district]) == district
    names = [*DISTRICTS, *hindi.values(), *DISTRICT_ALIASES]
    owners: dict[str, set[str]] = {}
    for name in names:
        owners.setdefault(fold(name), set()).add(canonical_district(name) or "")
    assert all(len(o) == 1 for o in owners.values()), owners


def test_departments_and_categories_by_code_english_or_hindi_name() -> None:
    for d in DEPARTMENTS:
        name_hi = local_name("department", d.name, "hi")
        assert name_hi != d.name
        for name in (d.code, d.name, d.name.upper(), name_hi, f"{name_hi} विभाग", d.short):
            assert canonical_department(name) == d.code, name
    assert canonical_department("home and police department") == "police"
    for c in CATEGORIES:
        label_hi = local_name("subject", c.label, "hi")
        short_hi = local_name("subject|short", c.short, "hi")
        assert label_hi != c.label and short_hi != c.short
        for name in (c.code, c.code.replace("_", "-"), c.label, label_hi, c.short, short_hi):
            assert canonical_category(name) == c.code, name
    assert canonical_category("पेयजल") == "drinking_water"
    assert canonical_department("Ministry of Magic") is None
    assert canonical_category("magic") is None


async def test_routes_take_names_in_hindi_and_store_the_canonical_form(
    stack: httpx.AsyncClient,
) -> None:
    body = complaint_body(citizen__district="पलामू", category="पेयजल", department="पेयजल एवं स्वच्छता")
    created = await stack.post("/v1/complaints", json=body)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["citizen"]["district"] == "Palamu"
    assert case["category"] == "drinking_water"
    assert case["department"] == "drinking_water_sanitation"

    listed = await stack.get("/v1/complaints", params={"district": "Palamau"})
    assert [c["registration_number"] for c in listed.json()["data"]] == [
        case["registration_number"]
    ]
    by_department = await stack.get("/v1/complaints", params={"department": "पेयजल एवं स्वच्छता"})
    assert by_department.status_code == 200, by_department.text
    assert len(by_department.json()["data"]) == 1

    for params, field in (
        ({"district": "Gotham"}, "district"),
        ({"department": "x"}, "department"),
    ):
        refused = await stack.get("/v1/complaints", params=params)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == field
    bad = await stack.post("/v1/complaints", json=complaint_body(citizen__district="Gotham"))
    assert bad.status_code == 422 and "district" in bad.text
