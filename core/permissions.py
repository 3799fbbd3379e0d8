"""Who may do what: every permission of the platform, as the roles it admits.

One home for the roles' rights. The API's routes (`Depends(require(*CASE_READERS))`), the staff
pages (`signed_in(*CASE_READERS)`), the scoping of reads (`api.services.scope`), the directory
CLI's checks of a token's scope and the tests all read them here; no other module names a role
to grant a right.

Each permission is a tuple of `schemas.auth.Role`, in the order the roles are listed to a
caller refused (403 names them). A right that reads cases is also scoped: state-wide roles
(`STATE_WIDE_ROLES`) see every case, a nodal officer their district's or department's, a
department officer their department's urgent cases (`api.services.scope.case_filter`).
"""

from __future__ import annotations

from schemas.auth import Principal, Role

# ---- scope ---------------------------------------------------------------------------------

# Roles that read every case wherever they are admitted.
STATE_WIDE_ROLES = frozenset({Role.REVIEWER, Role.TELECALLER, Role.ADMINISTRATOR, Role.ENGINEER})
# Roles that read the cases of their district or department (the citizen's district, a case
# transferred to an officer of their district, or the case's department); a token of one must
# name a district or a department unless issued state-wide.
DISTRICT_OR_DEPARTMENT_ROLES = frozenset({Role.NODAL_OFFICER})
# Roles that read the urgent cases of their department (and district, if their token names
# one); a token of one must name a department unless issued state-wide.
URGENT_OF_DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_OFFICER})

# ---- cases ---------------------------------------------------------------------------------

REGISTRARS = (Role.TELECALLER, Role.INTEGRATION)  # register a complaint (and link a repeat call)
LIMIT_OVERRIDERS = (Role.TELECALLER,)  # register one more than a phone's daily limit
CASE_READERS = (
    Role.NODAL_OFFICER,
    Role.DEPARTMENT_OFFICER,
    Role.REVIEWER,
    Role.TELECALLER,
    Role.ADMINISTRATOR,
)
LIVE_READERS = (Role.ENGINEER, Role.ADMINISTRATOR)  # a case's live workflow state
REPORTERS = (Role.NODAL_OFFICER, Role.DEPARTMENT_OFFICER)  # action-taken and interim reports
CALLERS = (Role.TELECALLER,)  # the verification call; citizens' requests made by phone
REVIEW_REQUESTERS = (Role.TELECALLER, Role.REVIEWER)
DECIDERS = (Role.REVIEWER,)  # a review's decision on one case
LINKERS = REGISTRARS  # link a repeat call: whoever may register one
INTEGRATIONS = (Role.INTEGRATION,)  # channel systems (Open311's own service requests)

# ---- files ---------------------------------------------------------------------------------

UPLOADERS = (Role.TELECALLER, Role.NODAL_OFFICER, Role.DEPARTMENT_OFFICER, Role.INTEGRATION)
# Uploaders that are staff (an integration has no pages).
PAGE_UPLOADERS = tuple(role for role in UPLOADERS if role in CASE_READERS)
OFFICERS = (Role.NODAL_OFFICER, Role.DEPARTMENT_OFFICER)  # a report's proof
DESK = (Role.TELECALLER,)  # files added at the desk, on the citizen's behalf
PUBLISHERS = (Role.TELECALLER, Role.REVIEWER, Role.ADMINISTRATOR)
REMOVERS = (Role.ADMINISTRATOR,)

# ---- reviews -------------------------------------------------------------------------------

REVIEW_READERS = (Role.REVIEWER, Role.ADMINISTRATOR)
REVIEW_WRITERS = (Role.REVIEWER,)

# ---- work lists and staff ------------------------------------------------------------------

CALLBACK_WORKERS = (Role.TELECALLER, Role.REVIEWER)
# Every member of staff; not channel systems (integration) nor the metrics scraper.
DIRECTORY_READERS = (
    Role.TELECALLER,
    Role.NODAL_OFFICER,
    Role.DEPARTMENT_OFFICER,
    Role.REVIEWER,
    Role.ADMINISTRATOR,
    Role.ENGINEER,
)
# The telecallers' list of citizens SMS cannot reach (and the administrator's, who looks after
# the gateway).
UNREACHABLE_READERS = (Role.TELECALLER, Role.ADMINISTRATOR)
PREFERENCE_WRITERS = (Role.TELECALLER, Role.ADMINISTRATOR)  # a citizen's SMS/WhatsApp choice
IVR_CHECKERS = (Role.TELECALLER, Role.REVIEWER)  # the sampled checks of the machine's calls
IVR_READERS = (Role.REVIEWER, Role.ADMINISTRATOR, Role.TELECALLER)

# ---- oversight and operations --------------------------------------------------------------

DASHBOARD_READERS = (Role.REVIEWER, Role.ADMINISTRATOR)
# The monthly grading: the CM's office and the reviewers state-wide; nodal officers over the
# cases in their own scope.
GRADING_READERS = (Role.REVIEWER, Role.ADMINISTRATOR, Role.NODAL_OFFICER)
AUDIT_READERS = (Role.ADMINISTRATOR, Role.REVIEWER)
# The scraper (a monitoring token: Prometheus `authorization: {credentials_file: ...}`) and
# people looking after the platform.
METRICS_READERS = (Role.MONITORING, Role.ADMINISTRATOR, Role.ENGINEER)
CODEC_USERS = (Role.ENGINEER, Role.ADMINISTRATOR)  # decode payloads; the engineer's pages

# ---- where a role starts its day -----------------------------------------------------------

# The first of these a principal holds names their home page.
HOMES: tuple[tuple[tuple[Role, ...], str], ...] = (
    ((Role.TELECALLER,), "/desk"),
    ((Role.NODAL_OFFICER, Role.DEPARTMENT_OFFICER), "/inbox"),
    ((Role.REVIEWER,), "/review-room"),
    ((Role.ADMINISTRATOR,), "/dashboard"),
    ((Role.ENGINEER,), "/engineer"),
)


def home_of(principal: Principal) -> str:
    """Where a role starts its day: a page path (`/sign-in` for a role with no pages)."""
    for roles, path in HOMES:
        if principal.has(*roles):
            return path
    return "/sign-in"
