"""Authentication and authorisation dependencies (issue 6).

INTERFACE (stable; the implementation behind it is being built):

    require(*roles) -> a FastAPI dependency returning the authenticated `Principal` when it holds
    one of `roles`; it also stores it on `request.state.principal` (the audit trail reads it).

    Usage on a route:   principal: Annotated[Principal, Depends(require(Role.TELECALLER))]
    or on a router:     APIRouter(..., dependencies=[Depends(require(Role.ENGINEER))])

PLACEHOLDER: until the token store lands, every request is an all-roles principal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from schemas.auth import Principal, Role


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = Principal(subject="anonymous", roles=frozenset(Role))
        request.state.principal = principal
        return principal

    return dependency
