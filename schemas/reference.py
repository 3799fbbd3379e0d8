"""Reference data that the code relies on: districts, departments, categories.

The people (nodal officers) are not here: they live in the directory seed file that an
administrator replaces (`core/seed/directory.json`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator

from schemas.i18n import all_names

# India's DLT rules: a variable of a registered SMS template holds at most 30 characters, so
# every name an SMS carries has a form that fits (district names, `short` labels, the
# directory's `office`).
DLT_VARIABLE_MAX = 30

DISTRICTS: tuple[str, ...] = (
    "Bokaro", "Chatra", "Deoghar", "Dhanbad", "Dumka", "East Singhbhum", "Garhwa", "Giridih",
    "Godda", "Gumla", "Hazaribagh", "Jamtara", "Khunti", "Koderma", "Latehar", "Lohardaga",
    "Pakur", "Palamu", "Ramgarh", "Ranchi", "Sahebganj", "Seraikela Kharsawan", "Simdega",
    "West Singhbhum",
)  # fmt: skip

# Other spellings in common use (old gazette names, transliterations, headquarters towns that
# callers give for the district). Hindi variants of nukta, chandrabindu and hyphen need no
# entry: `fold()` already treats them alike.
DISTRICT_ALIASES: dict[str, str] = {
    "Palamau": "Palamu", "Daltonganj": "Palamu", "Sahibganj": "Sahebganj",
    "Saheb Ganj": "Sahebganj", "साहेबगंज": "Sahebganj", "Hazaribag": "Hazaribagh",
    "Saraikela Kharsawan": "Seraikela Kharsawan", "Seraikela": "Seraikela Kharsawan",
    "Saraikela": "Seraikela Kharsawan", "Purbi Singhbhum": "East Singhbhum",
    "Jamshedpur": "East Singhbhum", "Pashchimi Singhbhum": "West Singhbhum",
    "Chaibasa": "West Singhbhum", "Kodarma": "Koderma", "Pakaur": "Pakur",
    "Devghar": "Deoghar", "Giridh": "Giridih", "पलामु": "Palamu", "पाकुर": "Pakur",
    "सरायकेला": "Seraikela Kharsawan", "सिंहभूम पूर्वी": "East Singhbhum",
    "सिंहभूम पश्चिमी": "West Singhbhum",
}  # fmt: skip

_NUKTA, _CHANDRABINDU, _ANUSVARA = "\u093c", "\u0901", "\u0902"
_SUFFIXES = (" district", " zila", " jila", " जिला", " जिल", " department", " dept", " विभाग")


def fold(value: str) -> str:
    """The matching key of a name as a caller or a telecaller types it: Unicode-normalised,
    case-folded, nukta dropped, chandrabindu read as anusvara, hyphens, dots and repeated
    spaces as one space, a trailing "district"/"जिला"/"department"/"विभाग" dropped."""
    text = unicodedata.normalize("NFD", value).replace(_NUKTA, "").replace(_CHANDRABINDU, _ANUSVARA)
    text = unicodedata.normalize("NFC", text).casefold()
    text = " ".join(text.replace("-", " ").replace(".", " ").replace("_", " ").split())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)].rstrip(" ,")
    return text


@cache
def _district_by_key() -> dict[str, str]:
    # Built on first use, from the `names` catalogues present then (read at start-up).
    return {
        **{fold(name): d for d in DISTRICTS for name in all_names("district", d)},
        **{fold(alias): d for alias, d in DISTRICT_ALIASES.items()},
    }


def canonical_district(value: str) -> str | None:
    """The district's canonical (English) name for its name in English or in any language of
    the `names` catalogues (रांची), in any case, with extra spaces, or in a common other
    spelling (Palamau, Sahibganj); None if unknown."""
    return _district_by_key().get(fold(value))


@dataclass(frozen=True)
class Department:
    """A department of the state government: `name` is the full title (translated in the
    `names` catalogue, context `department`), `short` a form that fits a DLT variable (at most
    30 characters) and that callers also use."""

    code: str
    name: str
    short: str


DEPARTMENTS: tuple[Department, ...] = (
    Department("rural_development", "Rural Development", "Rural Development"),
    Department("drinking_water_sanitation", "Drinking Water and Sanitation",
               "Drinking Water & Sanitation"),
    Department("food_supply", "Food, Public Distribution and Consumer Affairs", "Food Supply"),
    Department("health", "Health, Medical Education and Family Welfare", "Health"),
    Department("disaster_management", "Disaster Management", "Disaster Management"),
    Department("police", "Home and Police", "Home & Police"),
    Department("law", "Law", "Law"),
    Department("energy", "Energy", "Energy"),
    Department("road_construction", "Road Construction", "Road Construction"),
    Department("school_education", "School Education and Literacy", "School Education"),
    Department("revenue_land", "Revenue, Registration and Land Reforms",
               "Revenue & Land Reforms"),
    Department("women_child_welfare", "Women, Child Development and Social Security",
               "Women & Child Development"),
    Department("agriculture", "Agriculture", "Agriculture"),
    Department("urban_development", "Urban Development and Housing", "Urban Development"),
    Department("labour", "Labour and Employment", "Labour & Employment"),
    Department("forest_environment", "Forest and Environment", "Forest & Environment"),
    Department("welfare", "Welfare", "Welfare"),
    Department("panchayati_raj", "Panchayati Raj", "Panchayati Raj"),
)  # fmt: skip

DEPARTMENT_BY_CODE = {d.code: d for d in DEPARTMENTS}


@cache
def _department_by_key() -> dict[str, str]:
    return {
        fold(name): d.code
        for d in DEPARTMENTS
        for name in (d.code, *all_names("department", d.name), d.short, d.short.replace("&", "and"))
    }


def canonical_department(value: str) -> str | None:
    """The department code for its code, English name (full or short) or its name in any
    language of the `names` catalogues, in any case, with extra spaces or a trailing
    "department"/"विभाग"; None if unknown."""
    return _department_by_key().get(fold(value))


@dataclass(frozen=True)
class Category:
    """A subject of complaints. `label` is shown in lists and pages; `short` is what an SMS
    names (a DLT variable holds at most 30 characters). Both are translated in the `names`
    catalogue (contexts `subject` and `subject|short`)."""

    code: str
    label: str
    department: str
    short: str
    urgent: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("sanitation", "Sanitation / toilets (Swachh Bharat)", "drinking_water_sanitation",
             "Sanitation / toilets"),
    Category("drinking_water", "Drinking water", "drinking_water_sanitation", "Drinking water"),
    Category("lpg_connection", "LPG gas connection (Ujjwala)", "food_supply",
             "LPG connection (Ujjwala)"),
    Category("ration", "Ration card / public distribution", "food_supply", "Ration card / PDS"),
    Category("health_facility", "Health facility / hospital", "health",
             "Health facility / hospital"),
    Category("pension", "Pension and social security", "women_child_welfare", "Pension"),
    Category("housing", "Housing scheme", "rural_development", "Housing scheme"),
    Category("employment", "Wages and employment (MGNREGA)", "rural_development",
             "Wages / MGNREGA"),
    Category("electricity", "Electricity supply", "energy", "Electricity supply"),
    Category("road", "Roads", "road_construction", "Roads"),
    Category("education", "Schools and scholarships", "school_education",
             "Schools / scholarships"),
    Category("land", "Land and revenue records", "revenue_land", "Land records"),
    Category("police", "Police (non-urgent)", "police", "Police"),
    Category("other", "Any other scheme or service", "rural_development",
             "Other scheme / service"),
    # Urgent subjects named by the source: they go at once to the department's officers.
    Category("natural_disaster", "Natural disaster", "disaster_management", "Natural disaster",
             urgent=True),
    Category("riot", "Riot", "police", "Riot", urgent=True),
    Category("crime", "Crime", "police", "Crime", urgent=True),
    Category("speedy_justice", "Matter needing speedy justice", "law", "Speedy justice",
             urgent=True),
)  # fmt: skip

CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}
URGENT_CATEGORIES = frozenset(c.code for c in CATEGORIES if c.urgent)


@cache
def _category_by_key() -> dict[str, str]:
    return {
        fold(name): c.code
        for c in CATEGORIES
        for name in (c.code, *all_names("subject", c.label), *all_names("subject|short", c.short))
    }


def forget_names() -> None:
    """Reads the `names` catalogues again on next use (after a catalogue changed)."""
    for keys in (_district_by_key, _department_by_key, _category_by_key):
        keys.cache_clear()


def canonical_category(value: str) -> str | None:
    """The category code for its code or its label (full or short, in English or in any
    language of the `names` catalogues), in any case and spacing; None if unknown."""
    return _category_by_key().get(fold(value))


def _known(kind: str, canonical: Callable[[str], str | None], valid: Iterable[str]) -> Any:
    """A validator: the canonical form of a `kind` name, or a ValueError listing the valid."""
    listed = ", ".join(valid)

    def check(value: str) -> str:
        found = canonical(value)
        if found is None:
            raise ValueError(f"unknown {kind} {value!r}; valid: {listed}")
        return found

    return AfterValidator(check)


# Names as people give them, validated to their canonical form (every field and query
# parameter that takes one uses these).
DistrictName = Annotated[str, _known("district", canonical_district, DISTRICTS)]
DepartmentName = Annotated[
    str, _known("department", canonical_department, (d.code for d in DEPARTMENTS))
]
CategoryName = Annotated[str, _known("category", canonical_category, (c.code for c in CATEGORIES))]
