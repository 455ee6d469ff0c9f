"""Bit-for-bit comparisons of draw results (one-process against merged or decoded ones)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from random_sampler.draw import DrawResult
from random_sampler.select import Selection


def assert_same_array(a: Any, b: Any, name: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{name}: shape {a.shape} != {b.shape}"
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"{name} differs"


def assert_same_allocation(x: Any, y: Any) -> None:
    for part in dataclasses.fields(x):
        u, v = getattr(x, part.name), getattr(y, part.name)
        if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
            assert_same_array(u, v, f"allocation.{part.name}")
        else:
            assert type(u) is type(v) and u == v, f"allocation.{part.name}: {u!r} != {v!r}"


def assert_same_selection(a: Selection, b: Selection) -> None:
    for field in dataclasses.fields(Selection):
        if field.name == "allocation":
            assert_same_allocation(a.allocation, b.allocation)
        else:
            assert_same_array(getattr(a, field.name), getattr(b, field.name), field.name)
    assert_same_array(a.inclusion_probability, b.inclusion_probability, "inclusion_probability")


def assert_same_result(a: DrawResult, b: DrawResult) -> None:
    assert_same_selection(a.selection, b.selection)
    for name in ("members", "blocked", "blocked_department", "workload"):
        assert_same_array(getattr(a.teams, name), getattr(b.teams, name), f"teams.{name}")
    assert_same_array(a.team_member_id, b.team_member_id, "team_member_id")
    assert json.dumps(a.report, sort_keys=True) == json.dumps(b.report, sort_keys=True)
