"""Reasons: English text for logs and the command line that keeps what a translator needs."""

from __future__ import annotations

import copy
import pickle

from enforcement.reasons import Reason, reason, reason_of


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
