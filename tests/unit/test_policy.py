"""The policy file: fields given override the defaults, the rest keep them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.holidays import configured_policy
from core.settings import Settings
from schemas.policy import Policy, load_policy


def test_defaults_without_a_file() -> None:
    assert load_policy(None) == Policy()
    assert Policy().report_deadline(suggestion=False, urgent=True) == timedelta(hours=12)
    assert Policy().report_deadline(suggestion=True, urgent=False) == timedelta(days=30)


def test_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"report_deadline_complaint": "P21D", "callback_attempts": 5}')
    policy = load_policy(path)
    assert policy.report_deadline_complaint == timedelta(days=21)
    assert policy.callback_attempts == 5
    assert policy.reopen_window == Policy().reopen_window


def test_bad_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"callback_exhausted_action": "forget"}')
    with pytest.raises(ValidationError, match="callback_exhausted_action"):
        load_policy(path)


def test_timer_spread_minutes_reach_the_policy_new_cases_get(tmp_path: Path) -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    spread = configured_policy(Settings(timer_spread_minutes=30, data_dir=tmp_path), now)
    assert spread.timer_spread == timedelta(minutes=30)
    assert configured_policy(Settings(data_dir=tmp_path), now).timer_spread == timedelta(0)
    with pytest.raises(ValidationError, match="timer_spread"):
        Policy(timer_spread=timedelta(hours=5))
