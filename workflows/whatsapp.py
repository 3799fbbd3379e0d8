"""The SMS that stands in for a WhatsApp message that failed for good (activities/whatsapp.py):
one short workflow per failed message, started by its final receipt under an id made of the
message's key, so that a redelivered receipt never sends a second SMS."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.whatsapp import WhatsAppActivities
    from schemas.enums import MessageStatus


class WhatsAppFallback(BaseModel):
    """The failed WhatsApp message (its key: no phone, no text) and the SMS task queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(max_length=120)
    sms_task_queue: str = ""


def fallback_workflow_id(prefix: str, key: str) -> str:
    """One fallback per WhatsApp message, whatever the receipts' redeliveries."""
    return f"{prefix}whatsapp-fallback:{key}"


@workflow.defn
class WhatsAppFallbackWorkflow:
    """Sends the SMS stand-in of one failed WhatsApp message; its delivery status."""

    @workflow.run
    async def run(self, input: WhatsAppFallback) -> MessageStatus:
        return await workflow.execute_activity_method(
            WhatsAppActivities.whatsapp_fallback,
            input.key,
            task_queue=input.sms_task_queue or workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
