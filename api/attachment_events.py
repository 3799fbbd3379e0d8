"""A file's event told to its case's workflow, the timeline's one writer (docs/attachments.md).

The file's row is already written when the case is told; if the signal cannot be delivered
(the case's workflow has finished, Temporal is unreachable) the file and the audit trail
still record it, and only the timeline entry is missing, as for an SMS receipt."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.service import RPCError

from api.deps import AppState
from core.attachments import reference
from core.models import Attachment, Complaint
from schemas.attachments import AttachmentEventKind, attachment_event
from workflows.complaint import ComplaintWorkflow

log = logging.getLogger(__name__)


async def tell_case(
    app: AppState,
    case: Complaint,
    attachment: Attachment,
    event: AttachmentEventKind,
    *,
    by: str,
    reason: str | None = None,
) -> None:
    """Signals `event` of `attachment` to the case's workflow (best effort, see above)."""
    handle = app.client.get_workflow_handle_for(ComplaintWorkflow.run, case.workflow_id)
    try:
        await handle.signal(
            ComplaintWorkflow.attachment_event,
            attachment_event(event, reference(attachment), by=by, reason=reason),
            rpc_timeout=timedelta(seconds=app.settings.temporal_rpc_timeout_seconds),
        )
    except RPCError as err:
        log.warning("%s of %s not signalled: %s", event.value, attachment.id[:8], err.message)
