"""How the workflows call their effects: the read model's timeout and retry policy, and the
SMS gateway's retry policy, shared by the complaints and the review sessions.

A retry policy travels with every activity the workflow schedules; its values are the
promise's tempo (how long a case keeps trying), so they change deliberately, not in passing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DB_TIMEOUT = timedelta(seconds=30)
# The read model may be briefly unreachable: keep trying, never give up on a case or a
# session's agenda.
DB_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))
# The gateway may be down for a while: back off to five minutes, give up after 50 attempts.
SMS_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=50)
