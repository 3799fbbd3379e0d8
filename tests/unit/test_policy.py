"""The policy file: fields given override the defaults, the rest keep them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

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
