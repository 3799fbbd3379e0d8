"""Reference data that the code relies on: districts, departments, categories.

The people (nodal officers) are not here: they live in the directory seed file that an
administrator replaces (`core/seed/directory.json`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator

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

# Each district's name in Devanagari, as the state government writes it (jharkhand.gov.in).
DISTRICT_HI: dict[str, str] = {
    "Bokaro": "बोकारो", "Chatra": "चतरा", "Deoghar": "देवघर", "Dhanbad": "धनबाद",
    "Dumka": "दुमका", "East Singhbhum": "पूर्वी सिंहभूम", "Garhwa": "गढ़वा",
    "Giridih": "गिरिडीह", "Godda": "गोड्डा", "Gumla": "गुमला", "Hazaribagh": "हजारीबाग",
    "Jamtara": "जामताड़ा", "Khunti": "खूंटी", "Koderma": "कोडरमा", "Latehar": "लातेहार",
    "Lohardaga": "लोहरदगा", "Pakur": "पाकुड़", "Palamu": "पलामू", "Ramgarh": "रामगढ़",
    "Ranchi": "रांची", "Sahebganj": "साहिबगंज", "Seraikela Kharsawan": "सरायकेला खरसावां",
    "Simdega": "सिमडेगा", "West Singhbhum": "पश्चिमी सिंहभूम",
}  # fmt: skip

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


_DISTRICT_BY_KEY = {
    **{fold(d): d for d in DISTRICTS},
    **{fold(hi): d for d, hi in DISTRICT_HI.items()},
    **{fold(alias): d for alias, d in DISTRICT_ALIASES.items()},
}


def canonical_district(value: str) -> str | None:
    """The district's canonical (English) name for its name in English or Hindi, in any case,
    with extra spaces, or in a common other spelling (Palamau, Sahibganj, रांची); None if
    unknown."""
    return _DISTRICT_BY_KEY.get(fold(value))


def district_hi(name: str) -> str:
    """The Devanagari name of the district `name` (canonical English), else `name` itself."""
    return DISTRICT_HI.get(name, name)


@dataclass(frozen=True)
class Department:
    """A department of the state government. `short`/`name_hi` are what SMS texts name (a DLT
    variable holds at most 30 characters); `name` is the full title."""

    code: str
    name: str
    name_hi: str
    short: str


DEPARTMENTS: tuple[Department, ...] = (
    Department("rural_development", "Rural Development", "ग्रामीण विकास", "Rural Development"),
    Department(
        "drinking_water_sanitation", "Drinking Water and Sanitation", "पेयजल एवं स्वच्छता",
        "Drinking Water & Sanitation",
    ),
    Department(
        "food_supply", "Food, Public Distribution and Consumer Affairs", "खाद्य आपूर्ति",
        "Food Supply",
    ),
    Department("health", "Health, Medical Education and Family Welfare", "स्वास्थ्य", "Health"),
    Department("disaster_management", "Disaster Management", "आपदा प्रबंधन", "Disaster Management"),
    Department("police", "Home and Police", "गृह एवं पुलिस", "Home & Police"),
    Department("law", "Law", "विधि", "Law"),
    Department("energy", "Energy", "ऊर्जा", "Energy"),
    Department("road_construction", "Road Construction", "पथ निर्माण", "Road Construction"),
    Department(
        "school_education", "School Education and Literacy", "स्कूली शिक्षा एवं साक्षरता",
        "School Education",
    ),
    Department(
        "revenue_land", "Revenue, Registration and Land Reforms", "राजस्व एवं भूमि सुधार",
        "Revenue & Land Reforms",
    ),
    Department(
        "women_child_welfare", "Women, Child Development and Social Security",
        "महिला, बाल विकास एवं सामाजिक सुरक्षा", "Women & Child Development",
    ),
    Department("agriculture", "Agriculture", "कृषि", "Agriculture"),
    Department("urban_development", "Urban Development and Housing", "नगर विकास एवं आवास",
               "Urban Development"),
    Department("labour", "Labour and Employment", "श्रम एवं रोजगार", "Labour & Employment"),
    Department("forest_environment", "Forest and Environment", "वन एवं पर्यावरण",
               "Forest & Environment"),
    Department("welfare", "Welfare", "कल्याण", "Welfare"),
    Department("panchayati_raj", "Panchayati Raj", "पंचायती राज", "Panchayati Raj"),
)  # fmt: skip

DEPARTMENT_BY_CODE = {d.code: d for d in DEPARTMENTS}
_DEPARTMENT_BY_KEY = {
    fold(name): d.code
    for d in DEPARTMENTS
    for name in (d.code, d.name, d.name_hi, d.short, d.short.replace("&", "and"))
}


def canonical_department(value: str) -> str | None:
    """The department code for its code, English name (full or short) or Hindi name, in any
    case, with extra spaces or a trailing "department"/"विभाग"; None if unknown."""
    return _DEPARTMENT_BY_KEY.get(fold(value))


@dataclass(frozen=True)
class Category:
    """A subject of complaints. `label`/`label_hi` are shown in lists and pages; `short` and
    `short_hi` are what an SMS names (a DLT variable holds at most 30 characters)."""

    code: str
    label: str
    department: str
    label_hi: str
    short: str
    short_hi: str
    urgent: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("sanitation", "Sanitation / toilets (Swachh Bharat)", "drinking_water_sanitation",
             "स्वच्छता / शौचालय (स्वच्छ भारत)", "Sanitation / toilets", "स्वच्छता / शौचालय"),
    Category("drinking_water", "Drinking water", "drinking_water_sanitation", "पेयजल",
             "Drinking water", "पेयजल"),
    Category("lpg_connection", "LPG gas connection (Ujjwala)", "food_supply",
             "एलपीजी गैस कनेक्शन (उज्ज्वला)", "LPG connection (Ujjwala)", "गैस कनेक्शन (उज्ज्वला)"),
    Category("ration", "Ration card / public distribution", "food_supply",
             "राशन कार्ड / जन वितरण प्रणाली", "Ration card / PDS", "राशन कार्ड / जन वितरण"),
    Category("health_facility", "Health facility / hospital", "health",
             "स्वास्थ्य सुविधा / अस्पताल", "Health facility / hospital", "स्वास्थ्य सुविधा / अस्पताल"),
    Category("pension", "Pension and social security", "women_child_welfare",
             "पेंशन एवं सामाजिक सुरक्षा", "Pension", "पेंशन"),
    Category("housing", "Housing scheme", "rural_development", "आवास योजना", "Housing scheme",
             "आवास योजना"),
    Category("employment", "Wages and employment (MGNREGA)", "rural_development",
             "मजदूरी एवं रोजगार (मनरेगा)", "Wages / MGNREGA", "मजदूरी / मनरेगा"),
    Category("electricity", "Electricity supply", "energy", "बिजली आपूर्ति", "Electricity supply",
             "बिजली आपूर्ति"),
    Category("road", "Roads", "road_construction", "सड़क", "Roads", "सड़क"),
    Category("education", "Schools and scholarships", "school_education",
             "विद्यालय एवं छात्रवृत्ति", "Schools / scholarships", "विद्यालय / छात्रवृत्ति"),
    Category("land", "Land and revenue records", "revenue_land", "भूमि एवं राजस्व अभिलेख",
             "Land records", "भूमि अभिलेख"),
    Category("police", "Police (non-urgent)", "police", "पुलिस (सामान्य)", "Police", "पुलिस"),
    Category("other", "Any other scheme or service", "rural_development",
             "अन्य योजना या सेवा", "Other scheme / service", "अन्य योजना / सेवा"),
    # Urgent subjects named by the source: they go at once to the department's officers.
    Category("natural_disaster", "Natural disaster", "disaster_management", "प्राकृतिक आपदा",
             "Natural disaster", "प्राकृतिक आपदा", urgent=True),
    Category("riot", "Riot", "police", "दंगा", "Riot", "दंगा", urgent=True),
    Category("crime", "Crime", "police", "अपराध", "Crime", "अपराध", urgent=True),
    Category("speedy_justice", "Matter needing speedy justice", "law",
             "त्वरित न्याय का मामला", "Speedy justice", "त्वरित न्याय", urgent=True),
)  # fmt: skip

CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}
URGENT_CATEGORIES = frozenset(c.code for c in CATEGORIES if c.urgent)
_CATEGORY_BY_KEY = {
    fold(name): c.code
    for c in CATEGORIES
    for name in (c.code, c.label, c.label_hi, c.short, c.short_hi)
}


def canonical_category(value: str) -> str | None:
    """The category code for its code or its label (English or Hindi, full or short), in any
    case and spacing; None if unknown."""
    return _CATEGORY_BY_KEY.get(fold(value))


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
