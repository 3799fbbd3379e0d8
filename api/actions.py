"""A case action, once: authenticate with the action's roles, scope the caller to the case,
load it, execute the typed update within the API's budget and map its failures to answers.

Who may act is named once per action (`CaseActors`, in `api.services.cases`); a route takes a
`CaseAction` from its dependency, a page, which signs its user in by its own cookie, builds the
same `CaseAction` with `CaseActors.at`; both call the same service function.
"""

# No `from __future__ import annotations` here: FastAPI reads the dependency's annotations
# at runtime, and the one naming the roles refers to the closure's own `roles`.

from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select
from temporalio.workflow import UpdateMethodMultiParam

from api.auth import require
from api.deps import AppState, AppStateDep, SessionDep
from api.errors import ApiError, refusal
from api.services.scope import find_case, get_case
from api.updates import ActionKey, earlier_result, execute_within, update_id_for
from core import audit
from core.models import Complaint, TimelineEvent
from schemas.auth import Principal, Role
from schemas.calendar import fmt_ist_date
from schemas.workflow import ActionResult
from workflows.complaint import ComplaintWorkflow

Message = TypeVar("Message", bound=BaseModel)
# A typed update of the complaint workflow (`ComplaintWorkflow.submit_report`...).
CaseUpdate = UpdateMethodMultiParam[[ComplaintWorkflow, Message], ActionResult]


class CaseAction:
    """One caller's action on the case `sequence/year`, through a route admitting `admitted`.

    `case()` is the case as the caller may see it here (404 naming the number otherwise, as
    for a case that does not exist); `execute()` loads it that way and executes a typed
    update of its workflow. Nothing is looked up before the route asks: a bad body answers
    422 before a missing case answers 404.
    """

    def __init__(
        self,
        year: int,
        sequence: int,
        *,
        principal: Principal,
        admitted: tuple[Role, ...],
        session: Session,
        app: AppState,
        idempotency_key: str | None = None,
    ) -> None:
        self.year = year
        self.sequence = sequence
        self.principal = principal
        self.admitted = admitted
        self.session = session
        self.app = app
        self.idempotency_key = idempotency_key

    @property
    def actor(self) -> str:
        """Who acts: the token's subject (recorded on the case's timeline)."""
        return self.principal.subject

    def update_id(self, action: str | None) -> str | None:
        """The update ID of `action` under the caller's Idempotency-Key (None without one)."""
        return update_id_for(action, self.principal, self.idempotency_key)

    def case(self, *, also: ColumnElement[bool] | None = None) -> Complaint:
        """The case as seen by the caller through this action (and matching `also`)."""
        return get_case(
            self.session, self.year, self.sequence, self.principal, self.admitted, also=also
        )

    async def execute(
        self,
        update: CaseUpdate[Message],
        message: Message,
        *,
        also: ColumnElement[bool] | None = None,
        row: Complaint | None = None,
    ) -> ActionResult:
        """Execute `update` with `message` on the case (`row` when the route has loaded it,
        else loaded here, limited by `also`) within the API's budget.

        The update answers as soon as the case's transition is recorded (its SMS are sent
        after). With an Idempotency-Key the update's ID is the caller's and the action's own,
        so the Temporal server applies a retried action once and answers it with the first
        result. Unreachable or too slow: 503 with Retry-After, saying whether it may have been
        applied; refused by the case: 409 with the reason.
        """
        name = getattr(update, "__name__", None)
        audit.describe(name, facts=audit.summarize(message))
        update_id = self.update_id(name)
        if row is None:
            try:
                row = self.case(also=also)
            except ApiError:
                # A retry of an action that moved the case out of the caller's scope (a
                # transfer) answers with its first answer; anything else stays "no such
                # complaint".
                replay = await self._replay(update, update_id)
                if replay is None:
                    raise
                return replay
        # Give the (read-only) connection back to the pool rather than hold it through the wait.
        self.session.close()
        if row.workflow_started_at is None:
            raise refusal("not_started")
        handle = self.app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
        try:
            result: ActionResult = await execute_within(
                handle,
                update,
                message,
                budget=self.app.settings.action_timeout_seconds,
                update_id=update_id,
            )
        except ApiError as err:
            if err.extra.get("reason") == "finished" and name == "reopen" and row.closed_at:
                # A closed case's workflow ends with its reopen window: say when that was.
                window = self.app.policy.reopen_window
                ended = fmt_ist_date(row.closed_at + window)
                raise refusal("reopen_window_ended", days=window.days, date=ended) from err
            raise
        return result

    async def _replay(self, update: Any, update_id: str | None) -> ActionResult | None:
        """The first answer to this caller's own earlier action under the same key, if any.
        Only a caller who acted on the case (its timeline says so) is looked up in Temporal:
        for anyone else an out-of-scope case stays exactly "no such complaint"."""
        if update_id is None:
            return None
        try:
            # Unscoped on purpose: only the caller's own timeline entry admits the lookup.
            row = find_case(self.session, self.year, self.sequence, where=sa.true())
        except ApiError:
            return None
        acted = self.session.exec(
            select(TimelineEvent.id).where(
                TimelineEvent.complaint_id == row.id, TimelineEvent.actor == self.actor
            )
        ).first()
        self.session.close()
        if acted is None or row.workflow_started_at is None:
            return None
        handle = self.app.client.get_workflow_handle_for(ComplaintWorkflow.run, row.workflow_id)
        result: ActionResult | None = await earlier_result(
            handle, update, update_id, budget=self.app.settings.action_timeout_seconds
        )
        return result


class CaseActors:
    """Who may take one kind of case action: its roles, named once.

    `dependency` is the route's: it authenticates a bearer token holding one of the roles
    (401/403) and gives the route its `CaseAction` (path numbers, read session, app state,
    Idempotency-Key). `at` gives a page that signed its user in the same `CaseAction`.
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

        async def dependency(
            year: int,
            sequence: int,
            session: SessionDep,
            app: AppStateDep,
            principal: Annotated[Principal, Depends(require(*roles))],
            idempotency_key: ActionKey = None,
        ) -> CaseAction:
            return self.at(
                year,
                sequence,
                principal=principal,
                session=session,
                app=app,
                idempotency_key=idempotency_key,
            )

        self.dependency = dependency

    def at(
        self,
        year: int,
        sequence: int,
        *,
        principal: Principal,
        session: Session,
        app: AppState,
        idempotency_key: str | None = None,
    ) -> CaseAction:
        """The action on `sequence/year` by `principal`, scoped by these roles."""
        return CaseAction(
            year,
            sequence,
            principal=principal,
            admitted=self.roles,
            session=session,
            app=app,
            idempotency_key=idempotency_key,
        )
