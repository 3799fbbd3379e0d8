"""Finding cases from one search box: a registration number, a phone, a name, the words of the
complaint.

What the box holds decides what is looked for:

- a registration number in any form (`20983/2018`, `20983-2018`, `20983 / 2018`, in any
  script's digits): that case; a number alone (`20983`): that sequence in any year, and the
  words (a PIN code in the text is a number too);
- an Indian mobile number in any form or script (`98765 43210`, `+91-98765-43210`,
  `०९८७६५४३२१०`): the cases of its E.164 form, as stored;
- anything else: words, each matching the start of a word of the citizen's name or of the
  complaint (Hindi, English, Hinglish; every word must match).

Words go to the database's own full-text index (migration 0013): SQLite's FTS5 table
`complaint_search`, PostgreSQL's GIN index over a `simple` tsvector. Every key is answered from
an index, never by reading every case. The terms are never logged (names and phones are
personal data).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from core.models import Complaint
from schemas.complaint import ascii_digits, normalise_phone

# Words: letters, digits and Devanagari's signs (vowel signs, virama, nukta...), so that a
# Hindi word stays whole; the dandas (।, ॥) and punctuation separate.
_WORD = re.compile(r"[\w\u0900-\u0963\u0966-\u097F]+")
_NUMBER = re.compile(r"(\d{1,9})\s*[/\-\\.]\s*(\d{4})")
_PHONE_CHARACTERS = re.compile(r"[+\d\s\-().]+")
_MAX_WORDS = 8
_MAX_WORD_LENGTH = 60
# The PostgreSQL document, exactly as migration 0013 indexes it (else the index is not used).
PG_DOCUMENT = "to_tsvector('simple', complaint.citizen_name || ' ' || complaint.description)"


@dataclass(frozen=True)
class SearchTerms:
    """What a search box's text asks for (at most one of number/phone; words may join a
    sequence)."""

    year: int | None = None
    sequence: int | None = None
    phone: str | None = None
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.sequence is None and self.phone is None and not self.words


def parse(text: str) -> SearchTerms:
    """The keys in a search box's text (see the module docstring)."""
    value = unicodedata.normalize("NFC", ascii_digits(text)).strip()
    if not value:
        return SearchTerms()
    number = _NUMBER.fullmatch(value)
    if number:
        return SearchTerms(sequence=int(number.group(1)), year=int(number.group(2)))
    if _PHONE_CHARACTERS.fullmatch(value) and sum(c.isdigit() for c in value) >= 10:
        try:
            return SearchTerms(phone=normalise_phone(value))
        except ValueError:
            pass  # a long number that is no mobile: its words (digits) are searched
    words = tuple(
        dict.fromkeys(w.casefold()[:_MAX_WORD_LENGTH] for w in _WORD.findall(value) if w != "_")
    )[:_MAX_WORDS]
    sequence = int(value) if value.isdigit() and len(value) <= 9 else None
    return SearchTerms(sequence=sequence, words=words)


def _fts5_query(words: tuple[str, ...]) -> str:
    # Each word a quoted prefix query (quotes: no FTS5 operator in a citizen's words).
    return " AND ".join('"{}"*'.format(w.replace('"', '""')) for w in words)


def _tsquery(words: tuple[str, ...]) -> str:
    # Quoted lexemes with prefix matching; the words hold no quote or backslash (_WORD).
    return " & ".join(f"'{w}':*" for w in words)


def words_clause(words: tuple[str, ...], dialect: str) -> ColumnElement[bool]:
    """Cases whose citizen's name or complaint has every word (as a word's start)."""
    if dialect == "postgresql":
        document: sa.ColumnElement[Any] = sa.literal_column(PG_DOCUMENT)
        return document.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'"), _tsquery(words)))
    index = sa.table("complaint_search")
    matching: sa.Select[Any] = (
        sa.select(sa.literal_column("complaint_search.rowid"))
        .select_from(index)
        .where(sa.literal_column("complaint_search").op("MATCH")(_fts5_query(words)))
    )
    return col(Complaint.id).in_(matching)


def search_clause(text: str, dialect: str) -> ColumnElement[bool] | None:
    """A WHERE clause on `Complaint` for a search box's `text` on `dialect` ("sqlite",
    "postgresql"); None when the text holds nothing to look for."""
    terms = parse(text)
    if terms.empty:
        return None
    if terms.phone is not None:
        return col(Complaint.citizen_phone) == terms.phone
    clauses: list[ColumnElement[bool]] = []
    if terms.sequence is not None and terms.sequence < 2**31:
        number = col(Complaint.sequence) == terms.sequence
        if terms.year is not None:
            if terms.year >= 2**31:
                return sa.false()
            number = sa.and_(number, col(Complaint.year) == terms.year)
            return number
        clauses.append(number)
    if terms.words:
        clauses.append(words_clause(terms.words, dialect))
    return sa.or_(*clauses) if clauses else sa.false()
