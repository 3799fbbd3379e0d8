"""The API's side of WhatsApp outside the chat itself: the SMS stand-in of a WhatsApp message
that failed for good (started from its delivery receipt) and the citizen's channel preference
set at registration."""

from __future__ import annotations

import logging

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.whatsapp import needs_fallback
from core import audit
from core.db import read_session
from core.models import Message
from core.readmodel import AppliedReceipt
from core.settings import Settings
from workflows.whatsapp import WhatsAppFallback, WhatsAppFallbackWorkflow, fallback_workflow_id

log = logging.getLogger(__name__)


def _channel(engine: Engine, key: str) -> str | None:
    with read_session(engine) as session:
        return session.exec(select(Message.channel).where(Message.key == key)).first()


async def after_receipt(
    client: Client, engine: Engine, settings: Settings, applied: AppliedReceipt
) -> None:
    """A final receipt of a WhatsApp-only message that failed: its SMS stand-in, once (one
    workflow per message key; a redelivered receipt starts none), recorded in the audit."""
    channel = await run_in_threadpool(_channel, engine, applied.key)
    if channel is None or not needs_fallback(applied.key, channel, applied.status):
        return
    try:
        await client.start_workflow(
            WhatsAppFallbackWorkflow.run,
            WhatsAppFallback(key=applied.key, sms_task_queue=settings.sms_task_queue),
            id=fallback_workflow_id(settings.workflow_id_prefix, applied.key),
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return
    except RPCError as err:
        log.warning("SMS fallback of WhatsApp %s not started: %s", applied.key, err.message)
        return
    audit.describe(summary="WhatsApp failed for good: the same text goes by SMS, once")
