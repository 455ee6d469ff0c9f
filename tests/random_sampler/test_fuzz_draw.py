"""Fuzzing the draw core with hostile input: ``test_draw.py`` and friends check that every
*valid* scenario obeys the rules; here one field of a valid input is corrupted (wrong shape,
wrong type, NaN, negative or huge values, out-of-range codes, empty) and ``run_draw`` must
either draw or refuse with the documented errors (``ValueError``/``TypeError``) whose message
names the field at fault. Never an IndexError, a crash deep in NumPy, or a hang.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from random_sampler import InspectorArrays, PlanSpec, TargetArrays, TeamOptions, run_draw
from random_sampler.synthetic import synthetic_inputs

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TARGET_ARRAYS = (
    "target_id",
    "stratum",
    "stratum_tier",
    "in_business",
    "months_since_last",
    "inspections_this_year",
    "eligible_items",
    "item_department",
    "jurisdiction",
    "last_inspectors",
)
INSPECTOR_ARRAYS = (
    "inspector_id",
    "department",
    "jurisdiction",
    "active",
    "workload",
    "conflict_inspector",
    "conflict_target",
)
#: What a refusal may call a field (the message names the field, or the object it belongs to).
ALIASES = {
    "stratum": ("stratum",),
    "stratum_tier": ("stratum", "tier"),
    "conflict_inspector": ("conflict",),
    "conflict_target": ("conflict",),
    "item_department": ("item_department", "department", "items"),
}


def corrupt(array: np.ndarray, how: str, rng: np.random.Generator) -> Any:
    """``array`` broken in one way."""
    if how == "empty":
        return array[:0]
    if how == "shorter" and array.shape[0] > 0:
        return array[:-1]
    if how == "longer":
        return np.concatenate([array, array[:1]]) if array.shape[0] else array
    if how == "2d":
        return array.reshape(array.shape[0], -1)[:, :1].repeat(2, axis=1)
    if how == "flat" and array.ndim > 1:
        return array[:, 0]
    if how == "objects":
        return np.array([object()] * max(1, array.shape[0]), dtype=object)
    if how == "strings":
        return np.array(["x"] * max(1, array.shape[0]))
    if how == "scalar":
        return np.int64(3)
    values = array.astype(np.float64, copy=True)
    if values.size == 0:
        return array
    at = rng.integers(0, values.size)
    flat = values.reshape(-1)
    flat[at] = {
        "nan": np.nan,
        "inf": np.inf,
        "negative": -7.0,
        "huge": 2.0**62,
        "duplicate": flat[0] if at else (flat[1] if flat.size > 1 else 0.0),
    }.get(how, 0.0)
    if how in {"nan", "inf"}:
        return values
    if array.dtype == np.bool_:
        return values != 0
    with np.errstate(invalid="ignore"):  # a huge value wraps in a narrow dtype: on purpose
        return values.astype(array.dtype)


HOW = st.sampled_from(
    [
        "empty",
        "shorter",
        "longer",
        "2d",
        "flat",
        "objects",
        "strings",
        "scalar",
        "nan",
        "inf",
        "negative",
        "huge",
        "duplicate",
    ]
)


SHAPES = {"empty", "shorter", "longer", "2d", "flat", "scalar"}


def names_the_field(message: str, field: str, others: tuple[str, ...] = ()) -> bool:
    message = message.lower()
    return any(name in message for name in (field, *ALIASES.get(field, ()), *others))


def draw_or_refuse(build: Any, field: str, others: tuple[str, ...] = ()) -> None:
    """Build the inputs and draw; a refusal must be documented and name ``field`` (or, for
    a length that no longer matches, one of ``others``: the arrays it must match)."""
    try:
        targets, inspectors, plan, options, seed = build()
        result = run_draw(
            seed=seed,
            public_value=None,
            plan=plan,
            targets=targets,
            inspectors=inspectors,
            team_options=options,
        )
    except (ValueError, TypeError) as exc:
        assert names_the_field(str(exc), field, others), (field, str(exc))
        return
    # Accepted: the draw is still a draw (distinct rows among the targets).
    drawn = result.selection.drawn
    assert len(np.unique(drawn)) == len(drawn)
    assert (drawn >= 0).all() and (drawn < len(targets)).all()


@FUZZ
@given(
    field=st.sampled_from(TARGET_ARRAYS),
    how=HOW,
    seed=st.integers(0, 2**32 - 1),
)
def test_a_corrupted_target_array_is_drawn_or_refused_by_name(
    field: str, how: str, seed: int
) -> None:
    targets, inspectors, plan = synthetic_inputs(60, 20, 2, seed=seed)
    rng = np.random.default_rng(seed)

    def build() -> tuple[Any, ...]:
        broken = corrupt(getattr(targets, field), how, rng)
        fields = {f.name: getattr(targets, f.name) for f in dataclasses.fields(TargetArrays)}
        fields[field] = broken
        return TargetArrays(**fields), inspectors, plan, TeamOptions(), b"seed"

    draw_or_refuse(build, field, TARGET_ARRAYS if how in SHAPES else ())


@FUZZ
@given(
    field=st.sampled_from(INSPECTOR_ARRAYS),
    how=HOW,
    seed=st.integers(0, 2**32 - 1),
)
def test_a_corrupted_inspector_array_is_drawn_or_refused_by_name(
    field: str, how: str, seed: int
) -> None:
    targets, inspectors, plan = synthetic_inputs(60, 20, 2, seed=seed)
    rng = np.random.default_rng(seed)

    def build() -> tuple[Any, ...]:
        broken = corrupt(getattr(inspectors, field), how, rng)
        fields = {f.name: getattr(inspectors, f.name) for f in dataclasses.fields(InspectorArrays)}
        fields[field] = broken
        return targets, InspectorArrays(**fields), plan, TeamOptions(), b"seed"

    draw_or_refuse(build, field, INSPECTOR_ARRAYS if how in SHAPES else ())


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.floats(allow_nan=True), max_size=6),
)


@FUZZ
@given(
    field=st.sampled_from(
        [
            "tier_ratio",
            "budget",
            "method",
            "exclude_within_months",
            "annual_cap",
            "alternates_per_stratum",
        ]
    ),
    value=ANYTHING,
)
def test_plan_parameters_are_drawn_or_refused_by_name(field: str, value: Any) -> None:
    targets, inspectors, plan = synthetic_inputs(60, 20, 2, seed=1)

    def build() -> tuple[Any, ...]:
        return (
            targets,
            inspectors,
            dataclasses.replace(plan, **{field: value}),
            TeamOptions(),
            b"seed",
        )

    draw_or_refuse(build, field)


@FUZZ
@given(
    options=st.dictionaries(
        st.sampled_from(["team_size", "workload_cap", "recuse_same_jurisdiction", "bogus"]),
        ANYTHING,
        max_size=3,
    ),
    seed=st.one_of(st.binary(max_size=40), st.text(max_size=5), st.none(), st.integers()),
)
def test_team_options_and_seeds_are_drawn_or_refused_by_name(
    options: dict[str, Any], seed: Any
) -> None:
    targets, inspectors, plan = synthetic_inputs(60, 20, 2, seed=2)
    try:
        run_draw(
            seed=seed,
            public_value=None,
            plan=plan,
            targets=targets,
            inspectors=inspectors,
            team_options=options,
        )
    except (ValueError, TypeError) as exc:
        message = str(exc).lower()
        assert "team_options" in message or "seed" in message, message


@FUZZ
@given(public_value=st.text(max_size=40))
def test_any_public_value_text_is_drawn_or_refused_by_name(public_value: str) -> None:
    targets, inspectors, plan = synthetic_inputs(40, 20, 1, seed=3)
    try:
        run_draw(
            seed=b"seed",
            public_value=public_value,
            plan=plan,
            targets=targets,
            inspectors=inspectors,
        )
    except (ValueError, TypeError) as exc:
        assert "public_value" in str(exc) or "public value" in str(exc), str(exc)


def test_the_fuzzer_breaks_what_it_means_to() -> None:
    """A corruption that must be refused is refused (the fuzz tests above can fail)."""
    targets, _, _ = synthetic_inputs(10, 20, 1)
    with pytest.raises(ValueError, match="stratum"):
        TargetArrays(
            **{
                **{f.name: getattr(targets, f.name) for f in dataclasses.fields(TargetArrays)},
                "stratum": targets.stratum[:-1],
            }
        )
    with pytest.raises(ValueError, match="tier_ratio"):
        PlanSpec(tier_ratio=(0.1, 0.2, 0.3, 1.5))
