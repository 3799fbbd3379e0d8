"""The escalation ladder new cases get (I/O: never imported by workflow code).

LADDER names a shipped ladder (`schemas.escalation.LADDERS`), which takes the policy's session
settings (`with_policy`); LADDER_FILE replaces it with a ladder of the state's own (JSON,
validated by `schemas.escalation.Ladder`); DISTRICT_REVIEW_DAYS names each district's weekday
for the forums each district holds. The result goes into each case's workflow input, like the
policy, so a running case keeps its ladder and replays deterministically.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from core.settings import Settings
from schemas.escalation import (
    LADDERS,
    Ladder,
    configure,
    load_ladder,
    with_district_days,
    with_policy,
)
from schemas.i18n import offered_languages
from schemas.policy import Policy
from schemas.reference import DLT_VARIABLE_MAX


class LadderFileError(ValueError):
    """LADDER_FILE is unreadable or not a valid ladder (the message names the field)."""


def configured_ladder(settings: Settings, policy: Policy) -> Ladder:
    """The ladder of new cases, made the process's configured one (pages, metrics and
    agendas name its rungs); LadderFileError / ValueError naming the bad field."""
    ladder = _ladder(
        settings.ladder,
        settings.ladder_file,
        tuple(sorted(settings.district_review_weekdays.items())),
        policy,
    )
    configure(ladder)
    return ladder


@lru_cache(maxsize=8)
def _ladder(
    name: str, path: Path | None, days: tuple[tuple[str, int], ...], policy: Policy
) -> Ladder:
    if path is None:
        ladder = with_policy(LADDERS[name], policy)
    else:
        try:
            ladder = load_ladder(path)
        except OSError as err:
            raise LadderFileError(f"LADDER_FILE {path}: {err.strerror or err}") from None
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'ladder'}: {e['msg']}"
                for e in err.errors()
            )
            raise LadderFileError(f"LADDER_FILE {path}: {problems}") from None
    try:
        ladder = with_district_days(ladder, dict(days))
    except ValidationError as err:
        raise LadderFileError(f"DISTRICT_REVIEW_DAYS: {err.errors()[0]['msg']}") from None
    # Every forum's SMS name fits a DLT variable in every language offered (a translation in
    # the names catalogue, or the file's own), or the start stops here, not an SMS later.
    for rung in ladder.rungs:
        for language in offered_languages():
            named = rung.sms_name(language)
            if len(named) > DLT_VARIABLE_MAX:
                raise LadderFileError(
                    f"rung {rung.code}: its SMS name in {language!r} {named!r} is longer than "
                    f"{DLT_VARIABLE_MAX} characters (a DLT variable)"
                )
    return ladder
