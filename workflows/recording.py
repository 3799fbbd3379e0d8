"""`RecordingFetchWorkflow`: the citizen's spoken remark on the verification call ("not
solved", then `<Record>`), fetched from Twilio into the case's attachments by a worker
(activities/media.py `fetch_recording`), apart from the complaint's own workflow, which it
never holds up. Its input and result are references (ids, hash, type, size): never the
recording. One per recording (the workflow ID is the recording's SID)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.media import MediaActivities
    from schemas.attachments import AttachmentEventKind, MediaFetchResult, attachment_event
    from schemas.voice import RecordingFetch
    from workflows.complaint import ComplaintWorkflow

# Twilio may serve a recording a few seconds after the call's `<Record>` ends: the fetch is
# tried again for about half an hour before it gives up (a refusal is an answer, not retried).
RECORDING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)


def recording_workflow_id(prefix: str, recording_sid: str) -> str:
    return f"{prefix}recording-{recording_sid}"


@workflow.defn
class RecordingFetchWorkflow:
    """Fetch one spoken remark into its case; the case's timeline is told of the file."""

    @workflow.run
    async def run(self, input: RecordingFetch) -> MediaFetchResult:
        try:
            result = await workflow.execute_activity_method(
                MediaActivities.fetch_recording,
                input,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RECORDING_RETRY,
            )
        except ActivityError as err:
            # Twilio never served it: the remark's reference stays on the call (its URL).
            workflow.logger.warning("spoken remark not fetched: %s", err.cause or err)
            return MediaFetchResult(refused="503 not fetched from Twilio")
        if result.attachment is not None and input.case_workflow_id:
            event = attachment_event(AttachmentEventKind.ADDED, result.attachment, by="ivr")
            case = workflow.get_external_workflow_handle_for(
                ComplaintWorkflow.run, input.case_workflow_id
            )
            try:
                await case.signal(ComplaintWorkflow.attachment_event, event)
            except Exception:  # the case's workflow has finished: no timeline left
                workflow.logger.warning("spoken remark's file not signalled to its case")
        return result
