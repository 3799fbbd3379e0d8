"""The monthly grading as the API returns it (`GET /v1/grading`): one row per officer,
department or district, with the counts the published formula divides, its shares, the score
and the grade (core/grading.py; docs/closure.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GradeShares(BaseModel):
    """The formula's shares, 0-1 (None: nothing to count in the month)."""

    on_time: float | None = Field(description="Reports in by their deadline / reports due.")
    satisfied: float | None = Field(description="Complaints closed verified / closed.")
    rating: float | None = Field(description="(Average rating - 1) / 4.")
    not_reopened: float | None = Field(description="1 - reopened / closed at least once.")
    not_appealed: float | None = Field(description="1 - appealed / closed at least once.")
    told_why: float | None = Field(description="Late cases with an interim reply / late.")


class GradeEntry(BaseModel):
    """One officer's (`officer_id`, name, designation, district), department's or
    district's figures for the month (`key`)."""

    key: str
    officer_name: str | None = None
    officer_designation: str | None = None
    officer_district: str | None = None
    cases: int = Field(description="Registered in the month, not withdrawn.")
    due: int = Field(description="Reported, past the report stage, or past the deadline.")
    on_time: int
    closed_complaints: int
    verified: int
    rated: int
    average_rating: float | None = Field(description="1-5, over the rated closures.")
    closed_once: int
    reopened: int
    appealed: int
    late: int
    late_told_why: int
    interim_used: int = Field(description="Cases with at least one interim reply.")
    shares: GradeShares
    score: float | None = Field(description="0-100; None: no share had anything to count.")
    grade: str | None = Field(description="A-D; None with fewer than 5 cases due.")


class GradingList(BaseModel):
    """A page of the month's grading: `count` is every row, `data` the page, best first
    unless `sort` says otherwise."""

    data: list[GradeEntry]
    count: int
    month: str
    by: str
    limit: int
    offset: int
