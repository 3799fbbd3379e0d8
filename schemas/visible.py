"""Text that must read as it was typed: names and addresses without invisible reordering.

A name such as `Ramesh \\u202egnp.exe` carries a right-to-left override (U+202E): a page
that shows the phone number after it shows the number reversed, and a telecaller may dial a
wrong number. Names and addresses are what staff read beside numbers, so their bidirectional
controls are refused (422 naming the field), as are the invisible characters that let a name
look empty (`\\u200b\\u200b`). A name needs at least one letter of some script.

Kept: the zero-width joiner and non-joiner (U+200D, U+200C), which Devanagari and other Indian
scripts need to choose a conjunct or half form. Free text (descriptions, reports, notes) keeps
its characters; pages isolate every piece of user text (`<bdi>`, `dir="auto"`) so that none
reorders what stands beside it, and SMS variables lose their bidirectional controls
(`activities.templates`).
"""

from __future__ import annotations

import re
import unicodedata

# Embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), the marks LRM, RLM and
# ALM (U+200E, U+200F, U+061C).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# Characters that show nothing and join nothing: zero-width space, word joiner, invisible
# operators, the byte-order mark, the Hangul and Braille blanks, the soft hyphen.
_INVISIBLE = re.compile(
    "[\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u115f\u1160\u3164\uffa0\u2800\u180e]"
)


def without_bidi_controls(text: str) -> str:
    """`text` without bidirectional control characters (for text that is cut and sent)."""
    return _BIDI.sub("", text)


def refuse_hidden(value: str) -> str:
    """`value` unchanged, or ValueError naming the first bidirectional control or invisible
    character in it."""
    found = _BIDI.search(value) or _INVISIBLE.search(value)
    if found is not None:
        code = f"U+{ord(found.group()):04X}"
        kind = "a bidirectional control" if _BIDI.match(found.group()) else "an invisible"
        raise ValueError(
            f"contains {kind} character ({code}) that could change how it reads; remove it"
        )
    return value


def require_letter(value: str) -> str:
    """`value` unchanged, or ValueError when it has no letter of any script."""
    if not any(unicodedata.category(c).startswith("L") for c in value):
        raise ValueError("must contain at least one letter")
    return value
