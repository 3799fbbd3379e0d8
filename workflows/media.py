"""`MediaFetchWorkflow`: an Open311 request's `media_url`, fetched into the case's attachments
by a worker (activities/media.py), apart from the complaint's own workflow, which it never
holds up. Its input and result are references (ids, hash, type, size): never the file."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.media import MediaActivities
    from schemas.attachments import MediaFetch, MediaFetchResult, RetentionResult

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
        return await workflow.execute_activity_method(
            MediaActivities.fetch_media,
            input,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=MEDIA_RETRY,
        )


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
