"""Open311's `media_url`, both ways: a POST's URL checked and handed to a worker
(MediaFetchWorkflow), and a GET's `media_url` filled only with a file staff made public."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.media import allowed_networks, check_address, check_url
from core.attachments import Refused
from core.models import Attachment, Complaint
from core.settings import Settings
from schemas.attachments import MediaFetch
from workflows.media import MediaFetchWorkflow, media_workflow_id

log = logging.getLogger(__name__)


def media_url_problem(url: str, settings: Settings) -> str | None:
    """Why a POST's media_url will never be fetched (not http(s), an internal address
    written as such), or None; a name is resolved and checked again when fetched."""
    if len(url) > 2000:
        return "is longer than 2000 characters"
    try:
        host, _port = check_url(url)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None  # a name: checked when fetched, address by address
        check_address(host, allowed_networks(settings.media_fetch_allowed_networks))
    except Refused as refused:
        return refused.message.removeprefix("media_url ")
    return None


async def start_media_fetch(
    client: Client, settings: Settings, row: Complaint, url: str, *, by: str
) -> None:
    """Starts the fetch of a request's media (once per case: a re-sent POST starts none)."""
    assert row.id is not None
    try:
        await client.start_workflow(
            MediaFetchWorkflow.run,
            MediaFetch(
                complaint_id=row.id,
                registration_number=row.registration_number,
                url=url,
                uploaded_by=by,
                case_workflow_id=row.workflow_id,
            ),
            id=media_workflow_id(settings.workflow_id_prefix, row.year, row.sequence),
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass
    except RPCError as err:
        # The request is registered; its media is not fetched (Temporal unreachable).
        log.warning("media of %s not fetched: %s", row.registration_number, err.message)


def public_media(session: Session, complaint_ids: Sequence[int], base_url: str) -> dict[int, str]:
    """complaint id -> the URL of its first file staff made public (one query for a page)."""
    if not complaint_ids:
        return {}
    rows = session.exec(
        select(Attachment)
        .where(
            col(Attachment.complaint_id).in_(list(complaint_ids)),
            col(Attachment.public).is_(True),
            col(Attachment.deleted_at).is_(None),
        )
        .order_by(col(Attachment.uploaded_at), col(Attachment.id))
    ).all()
    found: dict[int, str] = {}
    for row in rows:
        found.setdefault(row.complaint_id, f"{base_url.rstrip('/')}/v1/attachments/{row.id}")
    return found
