"""Reasons: English text for logs and the command line that keeps what a translator needs."""

from __future__ import annotations

import copy
import json
import pickle

from enforcement.models import CommitmentStatus, PlanStatus, TaskStatus
from enforcement.reasons import (
    Reason,
    reason,
    reason_document,
    reason_from_document,
    reason_of,
)
from enforcement.services.commitments import COMMITMENT_STATUS_NAMES
from enforcement.services.plans import PLAN_STATUS_NAMES, TASK_STATUS_NAMES


def test_a_reason_reads_as_its_english_text_with_the_values_filled_in() -> None:
    why = reason("the task is ${status}: it cannot be inspected", status="cancelled")
    assert why == "the task is cancelled: it cannot be inspected"
    assert isinstance(why, str)
    assert why.msgid == "the task is ${status}: it cannot be inspected"
    assert why.mapping == {"status": "cancelled"}


def test_a_placeholder_without_a_value_is_left_as_written() -> None:
    assert reason("at most ${n} rows") == "at most ${n} rows"


def test_a_reason_survives_pickling_and_copying_as_a_reason() -> None:
    why = reason("${n} rows refused", n=3)
    for again in (pickle.loads(pickle.dumps(why)), copy.deepcopy(why)):
        assert isinstance(again, Reason)
        assert (again, again.msgid, again.mapping) == (why, why.msgid, why.mapping)


def test_reason_of_prefers_the_reason_an_exception_was_raised_with() -> None:
    why = reason("case ${no} is closed", no="CASE-1")
    assert isinstance(reason_of(LookupError(why)), Reason)
    assert reason_of(LookupError(why)).msgid == "case ${no} is closed"
    plain = reason_of(ValueError("plain text"))
    assert plain == "plain text" and not isinstance(plain, Reason)


def test_every_status_a_refusal_names_has_a_translatable_name() -> None:
    for names, statuses in (
        (PLAN_STATUS_NAMES, PlanStatus),
        (TASK_STATUS_NAMES, TaskStatus),
        (COMMITMENT_STATUS_NAMES, CommitmentStatus),
    ):
        assert set(names) == set(statuses)
        assert all(isinstance(name, Reason) for name in names.values())
        assert len(set(names.values())) == len(names)  # no two statuses read alike
        # A name is words, not the stored code.
        assert all("_" not in name for name in names.values())
    assert PLAN_STATUS_NAMES[PlanStatus.SEED_COMMITTED] == "seed committed"


def test_a_reason_stored_as_json_comes_back_translatable_with_its_nested_names() -> None:
    inner = reason("draft")
    outer = reason("plan ${plan} is ${status}", plan="2026-01", status=inner)
    stored = json.loads(json.dumps(reason_document(outer)))
    back = reason_from_document(stored, "ignored")
    assert isinstance(back, Reason) and back == outer and back.msgid == outer.msgid
    assert isinstance(back.mapping["status"], Reason) and back.mapping["status"].msgid == "draft"
    assert reason_document("plain text") is None


def test_a_stored_document_that_is_not_a_reason_gives_the_plain_text() -> None:
    for document in (None, "text", {"mapping": {}}, {"msgid": 3}, ["msgid"]):
        assert reason_from_document(document, "as stored") == "as stored"
    odd = reason_from_document({"msgid": "${a} and ${b}", "mapping": ["not", "a dict"]}, "")
    assert odd == "${a} and ${b}"  # missing values stay visible, nothing crashes
