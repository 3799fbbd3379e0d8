"""`MediaFetchWorkflow`: an Open311 request's `media_url`, fetched into the case's attachments
by a worker (activities/media.py), apart from the complaint's own workflow, which it never
holds up. Its input and result are references (ids, hash, type, size): never the file."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.media import MediaActivities
    from schemas.attachments import (
        AttachmentEvent,
        AttachmentEventKind,
        MediaFetch,
        MediaFetchResult,
        RetentionResult,
        attachment_event,
    )
    from workflows.complaint import ComplaintWorkflow

# A fetch that fails on the network or finds no scanner is tried again a few times (a
# refusal — internal address, too large, a virus — is an answer, not a failure).
MEDIA_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=5)


def media_workflow_id(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}media-{year}-{sequence}"


@workflow.defn
class MediaFetchWorkflow:
    """Fetch one request's media into its case (bounded in time by the activity's timeout)."""

    @workflow.run
    async def run(self, input: MediaFetch) -> MediaFetchResult:
        result = await workflow.execute_activity_method(
            MediaActivities.fetch_media,
            input,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=MEDIA_RETRY,
        )
        # The outcome (fetched: the file's reference; refused: the status) told to the case,
        # for its timeline.
        if input.case_workflow_id:
            await self._tell_case(input.case_workflow_id, input, result)
        return result

    async def _tell_case(self, case_id: str, input: MediaFetch, result: MediaFetchResult) -> None:
        if result.attachment is not None:
            event = attachment_event(AttachmentEventKind.MEDIA_FETCHED, result.attachment)
        else:
            status = (result.refused or "").partition(" ")[0]
            event = AttachmentEvent(
                event=AttachmentEventKind.MEDIA_REFUSED,
                by=input.uploaded_by,
                reason=f"refused_{status}" if status.isdigit() else "refused",
            )
        case = workflow.get_external_workflow_handle_for(ComplaintWorkflow.run, case_id)
        try:
            await case.signal(ComplaintWorkflow.attachment_event, event)
        except Exception:  # the case's workflow has finished: no timeline left
            workflow.logger.warning("media fetch outcome not signalled to its case")


@workflow.defn
class AttachmentRetentionWorkflow:
    """Daily (a Temporal Schedule): remove the files of cases closed longer ago than
    ATTACHMENT_RETENTION_DAYS (their references stay, with the reason)."""

    @workflow.run
    async def run(self) -> RetentionResult:
        return await workflow.execute_activity_method(
            MediaActivities.expire_attachments,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=MEDIA_RETRY,
        )
