"""The reasons an officer gives, from lists a state configures.

An interim reply (the case runs late) and a "not actionable" report each name a reason by its
code; the state's policy (`Policy.interim_reasons`, `Policy.not_actionable_reasons`, a
POLICY_FILE may narrow or extend them) says which codes its officers may use. The English
labels here are the `names` catalogue's sources (contexts `interim_reason`,
`not_actionable_reason`), so a citizen reads them in their language; a code a state adds
without a label here is shown as the code itself. Labels are at most 30 characters: an SMS
carries them as a DLT variable.

"Does not pertain to us" is never a reason: a case that belongs elsewhere is transferred.
"""

from __future__ import annotations

from schemas.i18n import local_name

INTERIM_REASONS: dict[str, str] = {
    "awaiting_funds": "awaiting funds",
    "site_inspection_due": "site inspection due",
    "other_department_input": "another department's input",
    "tender_in_progress": "tender in progress",
    "court_order_awaited": "court order awaited",
}

NOT_ACTIONABLE_REASONS: dict[str, str] = {
    "sub_judice": "matter before a court",
    "policy_matter": "a policy matter",
    "insufficient_details": "details insufficient",
    "private_dispute": "a private dispute",
    "already_settled": "settled earlier",
    "outside_government": "not a government matter",
}

# Words an officer might use for "not ours": refused as a reason (it is a transfer).
DOES_NOT_PERTAIN = frozenset({"does_not_pertain", "not_pertaining", "not_our_department"})

LABEL_MAX = 30


def interim_label(code: str, language: str = "en") -> str:
    """An interim reply's reason in `language` (the code itself if it has no label)."""
    english = INTERIM_REASONS.get(code, code)
    return local_name("interim_reason", english, language)


def not_actionable_label(code: str, language: str = "en") -> str:
    """A "not actionable" reason in `language` (the code itself if it has no label)."""
    english = NOT_ACTIONABLE_REASONS.get(code, code)
    return local_name("not_actionable_reason", english, language)
