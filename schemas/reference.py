"""Reference data that the code relies on: districts, departments, categories.

The people (nodal officers) are not here: they live in the directory seed file that an
administrator replaces (`core/seed/directory.json`).
"""

from __future__ import annotations

from dataclasses import dataclass

DISTRICTS: tuple[str, ...] = (
    "Bokaro", "Chatra", "Deoghar", "Dhanbad", "Dumka", "East Singhbhum", "Garhwa", "Giridih",
    "Godda", "Gumla", "Hazaribagh", "Jamtara", "Khunti", "Koderma", "Latehar", "Lohardaga",
    "Pakur", "Palamu", "Ramgarh", "Ranchi", "Sahebganj", "Seraikela Kharsawan", "Simdega",
    "West Singhbhum",
)  # fmt: skip

_DISTRICT_BY_KEY = {d.casefold(): d for d in DISTRICTS}


def canonical_district(value: str) -> str | None:
    """The district's canonical spelling, matching case-insensitively and ignoring extra spaces."""
    return _DISTRICT_BY_KEY.get(" ".join(value.split()).casefold())


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    name_hi: str


DEPARTMENTS: tuple[Department, ...] = (
    Department("rural_development", "Rural Development", "ग्रामीण विकास"),
    Department("drinking_water_sanitation", "Drinking Water and Sanitation", "पेयजल एवं स्वच्छता"),
    Department("food_supply", "Food, Public Distribution and Consumer Affairs", "खाद्य आपूर्ति"),
    Department("health", "Health, Medical Education and Family Welfare", "स्वास्थ्य"),
    Department("disaster_management", "Disaster Management", "आपदा प्रबंधन"),
    Department("police", "Home and Police", "गृह एवं पुलिस"),
    Department("law", "Law", "विधि"),
    Department("energy", "Energy", "ऊर्जा"),
    Department("road_construction", "Road Construction", "पथ निर्माण"),
    Department("school_education", "School Education and Literacy", "स्कूली शिक्षा"),
    Department("revenue_land", "Revenue, Registration and Land Reforms", "राजस्व एवं भूमि सुधार"),
    Department(
        "women_child_welfare", "Women, Child Development and Social Security", "महिला बाल विकास"
    ),
    Department("agriculture", "Agriculture", "कृषि"),
    Department("urban_development", "Urban Development and Housing", "नगर विकास"),
    Department("labour", "Labour and Employment", "श्रम"),
    Department("forest_environment", "Forest and Environment", "वन एवं पर्यावरण"),
    Department("welfare", "Welfare", "कल्याण"),
    Department("panchayati_raj", "Panchayati Raj", "पंचायती राज"),
)  # fmt: skip

DEPARTMENT_BY_CODE = {d.code: d for d in DEPARTMENTS}
_DEPARTMENT_BY_KEY = {
    **{d.name.casefold(): d.code for d in DEPARTMENTS},
    **{d.code: d.code for d in DEPARTMENTS},
}


def canonical_department(value: str) -> str | None:
    """The department code for a code or an English name, case-insensitively."""
    key = " ".join(value.split()).casefold()
    return _DEPARTMENT_BY_KEY.get(key) or _DEPARTMENT_BY_KEY.get(key.replace(" ", "_"))


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    department: str
    urgent: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("sanitation", "Sanitation / toilets (Swachh Bharat)", "drinking_water_sanitation"),
    Category("drinking_water", "Drinking water", "drinking_water_sanitation"),
    Category("lpg_connection", "LPG gas connection (Ujjwala)", "food_supply"),
    Category("ration", "Ration card / public distribution", "food_supply"),
    Category("health_facility", "Health facility / hospital", "health"),
    Category("pension", "Pension and social security", "women_child_welfare"),
    Category("housing", "Housing scheme", "rural_development"),
    Category("employment", "Wages and employment (MGNREGA)", "rural_development"),
    Category("electricity", "Electricity supply", "energy"),
    Category("road", "Roads", "road_construction"),
    Category("education", "Schools and scholarships", "school_education"),
    Category("land", "Land and revenue records", "revenue_land"),
    Category("police", "Police (non-urgent)", "police"),
    Category("other", "Any other scheme or service", "rural_development"),
    # Urgent subjects named by the source: they go at once to the department's officers.
    Category("natural_disaster", "Natural disaster", "disaster_management", urgent=True),
    Category("riot", "Riot", "police", urgent=True),
    Category("crime", "Crime", "police", urgent=True),
    Category("speedy_justice", "Matter needing speedy justice", "law", urgent=True),
)

CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}
URGENT_CATEGORIES = frozenset(c.code for c in CATEGORIES if c.urgent)


def canonical_category(value: str) -> str | None:
    key = "_".join(value.split()).casefold().replace("-", "_")
    return key if key in CATEGORY_BY_CODE else None


# The categories' names in Hindi, as citizens and the 181 centre say them (Open311 services
# carry both names).
CATEGORY_NAMES_HI: dict[str, str] = {
    "sanitation": "स्वच्छता / शौचालय (स्वच्छ भारत)",
    "drinking_water": "पेयजल",
    "lpg_connection": "एलपीजी गैस कनेक्शन (उज्ज्वला)",
    "ration": "राशन कार्ड / जन वितरण प्रणाली",
    "health_facility": "स्वास्थ्य सुविधा / अस्पताल",
    "pension": "पेंशन एवं सामाजिक सुरक्षा",
    "housing": "आवास योजना",
    "employment": "मजदूरी एवं रोजगार (मनरेगा)",
    "electricity": "बिजली आपूर्ति",
    "road": "सड़क",
    "education": "विद्यालय एवं छात्रवृत्ति",
    "land": "भूमि एवं राजस्व अभिलेख",
    "police": "पुलिस (गैर-आपातकालीन)",
    "other": "अन्य कोई योजना या सेवा",
    "natural_disaster": "प्राकृतिक आपदा",
    "riot": "दंगा",
    "crime": "अपराध",
    "speedy_justice": "त्वरित न्याय का मामला",
}
