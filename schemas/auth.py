"""Who is calling: roles and the authenticated principal.

Every endpoint declares the roles it admits (`api.auth.require`). A principal may hold several
roles; nodal and department officers are scoped to a district and/or a department, and a case
outside a principal's scope is answered 404, exactly like a case that does not exist.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    TELECALLER = "telecaller"  # registers complaints for callers, records callback outcomes
    NODAL_OFFICER = "nodal_officer"  # cases of their own district or department
    DEPARTMENT_OFFICER = "department_officer"  # urgent cases of their department
    REVIEWER = "reviewer"  # the CM secretariat: agendas, decisions, minutes; reads all cases
    ADMINISTRATOR = "administrator"  # users and tokens, directory, policy, the audit trail
    INTEGRATION = "integration"  # a channel system: may only register complaints
    ENGINEER = "engineer"  # decodes workflow payloads (codec endpoint), live workflow state
    MONITORING = "monitoring"  # scrapes /metrics


class Principal(BaseModel):
    """The authenticated caller, whatever authenticated it (our tokens or an OIDC provider)."""

    subject: str = Field(description="User or client name, e.g. 'telecaller-01', 'web-portal'.")
    roles: frozenset[Role]
    # Scope of nodal and department officers; None: not limited by that dimension.
    district: str | None = None
    department: str | None = None
    token_id: str | None = None  # which of our tokens (None for an external identity provider)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))
