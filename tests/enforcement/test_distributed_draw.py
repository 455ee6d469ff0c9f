"""Distributed draws: the encodings, the stratum groups, the parts' task ids, and a draw in
parts on a real worker (Redis, and the embedded filesystem broker) that equals the one-process
draw."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from celery import Celery
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.distributed_draw import (
    DEFAULT_PART_STALL_SECONDS,
    DistributedDrawError,
    DrawPartError,
    EncodingError,
    balanced_groups,
    compute_part,
    decode_allocation,
    decode_plan,
    decode_selection,
    distributed_selection,
    draw_in_parts,
    encode_allocation,
    encode_plan,
    encode_selection,
    part_stall_seconds,
    part_task_id,
)
from enforcement.services.snapshots import SnapshotMissingError, store_snapshot
from enforcement.worker import SETTINGS_KEY, celery_app, configure, dispose_engines
from random_sampler import (
    DrawResult,
    InspectorArrays,
    PlanSpec,
    TargetArrays,
    draw_allocation,
    draw_key,
    draw_targets,
    finish_draw,
    run_draw,
)
from random_sampler.archive import SnapshotArchive
from random_sampler.synthetic import synthetic_inputs, synthetic_team_options
from tests.draw_asserts import (
    assert_same_allocation,
    assert_same_result,
    assert_same_selection,
)
from tests.workers import running_worker

SEED = b"distributed-draw-test-seed"
PUBLIC = "2026-03-04 福彩双色球 05 09 14 22 27 31 + 11"
N_STRATA = 12
RARE_ROWS = [17, 901, 1650]  # the only targets of the last item: coverage has to add one


def inputs() -> tuple[TargetArrays, InspectorArrays, PlanSpec]:
    """Small synthetic inputs whose rare item a 5 % draw misses (so the merge must cover it)."""
    targets, inspectors, plan = synthetic_inputs(2000, 60, N_STRATA, seed=11)
    items = np.array(targets.eligible_items)
    items[:, -1] = False
    items[RARE_ROWS, -1] = True
    in_business = np.array(targets.in_business)
    in_business[RARE_ROWS] = True
    months = np.array(targets.months_since_last)
    months[RARE_ROWS] = np.nan
    inspections = np.array(targets.inspections_this_year)
    inspections[RARE_ROWS] = 0
    targets = dataclasses.replace(
        targets,
        eligible_items=items,
        in_business=in_business,
        months_since_last=months,
        inspections_this_year=inspections,
    )
    return targets, inspectors, plan


def local_draw(method: str) -> tuple[DrawResult, TargetArrays, InspectorArrays, PlanSpec]:
    targets, inspectors, plan = inputs()
    plan = dataclasses.replace(plan, method=method)
    whole = run_draw(
        seed=SEED,
        public_value=PUBLIC,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        team_options=synthetic_team_options(targets, inspectors, plan),
    )
    return whole, targets, inspectors, plan


# --------------------------------------------------------------------------- pure


@pytest.mark.parametrize("method", ["exact", "poisson"])
def test_a_selection_survives_its_json_encoding_bit_for_bit(method: str) -> None:
    whole, targets, _, plan = local_draw(method)
    assert whole.report["totals"]["added_for_coverage"] >= 1
    text = encode_selection(whole.selection)
    assert json.loads(json.dumps(text)) == text  # a plain JSON string
    assert encode_selection(whole.selection) == text  # deterministic
    assert_same_selection(decode_selection(text), whole.selection)

    # A part (some strata, on its rows only) too: empty item coverage, local indices.
    key = draw_key(SEED, PUBLIC)
    allocation = draw_allocation(key=key, plan=plan, targets=targets)
    assert_same_allocation(decode_allocation(encode_allocation(allocation)), allocation)
    rows = np.flatnonzero(np.isin(targets.stratum, [2, 5]))
    part = draw_targets(
        key=key,
        plan=plan,
        strata=[2, 5],
        allocation=allocation,
        **targets.take(rows).selection_arrays(),
    )
    assert_same_selection(decode_selection(encode_selection(part)), part)


def test_a_plan_survives_its_json_encoding_and_bad_fields_are_named() -> None:
    for plan in (
        PlanSpec((0.03, 0.1, 0.3, 0.8), budget=40, method="poisson", annual_cap=3),
        PlanSpec((0.0, 0.25, 1.0, 1.0), exclude_within_months=6, alternates_per_stratum=0.5),
        PlanSpec((0.1, 0.1, 0.1, 0.1), alternates_per_stratum=3),
    ):
        decoded = decode_plan(json.loads(json.dumps(encode_plan(plan))))
        assert decoded == plan
        assert type(decoded.alternates_per_stratum) is type(plan.alternates_per_stratum)
    with pytest.raises(EncodingError, match="unknown field"):
        decode_plan({"tier_ratio": [0.1] * 4, "ratio": 2})
    with pytest.raises(ValueError, match=r"plan\.budget must be at least 0"):
        decode_plan({"tier_ratio": [0.1] * 4, "budget": -1})


def test_a_damaged_or_foreign_encoding_is_refused_with_a_reason() -> None:
    whole, *_ = local_draw("exact")
    with pytest.raises(EncodingError, match="unreadable"):
        decode_selection("not base64!")
    with pytest.raises(EncodingError, match="format 'suijian-allocation/1'"):
        decode_selection(encode_allocation(whole.selection.allocation))


def test_a_part_has_one_task_id_that_hides_the_key() -> None:
    """The id of a part is the SHA-256 of its arguments: sent again, a lost part keeps its id
    (one result, however often it runs); other arguments, another id; no key in clear."""
    kwargs = part_kwargs("a" * 64, [1, 4, 9], group=1, groups=3)
    first = part_task_id(kwargs)
    assert first == part_task_id(json.loads(json.dumps(kwargs)))  # what the worker sees
    assert first.startswith("suijian-draw-part-") and len(first) == len("suijian-draw-part-") + 64
    assert kwargs["key"] not in first and kwargs["key"][:16] not in first
    assert part_task_id({**kwargs, "strata": [1, 4]}) != first
    assert part_task_id({**kwargs, "key": "0" * 64}) != first


def test_the_stall_setting_is_read_and_checked() -> None:
    app = Celery("stall-setting", set_as_current=False)
    assert part_stall_seconds(app) == DEFAULT_PART_STALL_SECONDS == 30.0
    app.conf[SETTINGS_KEY] = {"suijian.draw.part_stall_seconds": "4.5"}
    assert part_stall_seconds(app) == 4.5
    for bad in ("soon", "0", "-1"):
        app.conf[SETTINGS_KEY] = {"suijian.draw.part_stall_seconds": bad}
        with pytest.raises(ValueError, match=r"suijian\.draw\.part_stall_seconds must be"):
            part_stall_seconds(app)


def test_strata_are_split_into_balanced_deterministic_groups() -> None:
    weights = [500, 3, 80, 80, 0, 260, 41, 0, 700, 12]
    groups = balanced_groups(weights, 3)
    assert groups == balanced_groups(np.array(weights), 3)
    assert sorted(h for group in groups for h in group) == list(range(len(weights)))
    assert all(group == tuple(sorted(group)) and group for group in groups)
    loads = [sum(weights[h] for h in group) for group in groups]
    assert max(loads) - min(loads) <= max(weights)  # greedy bound
    assert loads == [700, 500, 476]
    # More parts than strata: one stratum each, empty strata included.
    assert balanced_groups([5, 0, 0], 8) == [(0,), (1,), (2,)]
    with pytest.raises(ValueError, match="parts must be a whole number >= 1"):
        balanced_groups(weights, 0)


# --------------------------------------------------------------------------- real workers


@dataclasses.dataclass(frozen=True)
class Stored:
    url: str
    sha256: str


def store(url: str) -> Stored:
    """A migrated database holding the test snapshot, committed (workers read it)."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        targets, inspectors, _ = inputs()
        with Session(engine) as session:
            row = store_snapshot(session, SnapshotArchive(targets, inspectors, {"test": True}))
            sha256 = row.sha256
            session.commit()
    finally:
        engine.dispose()
    return Stored(url=url, sha256=sha256)


@pytest.fixture(scope="module")
def stored(backend: str, new_database_url) -> Stored:  # type: ignore[no-untyped-def]
    return store(new_database_url(backend))


@pytest.fixture
def redis_settings(stored: Stored, redis_url: str) -> dict[str, Any]:
    return {
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
        "sqlalchemy.url": stored.url,
    }


def check_distributed_equals_local(app: Celery, sha256: str, method: str, parts: int) -> None:
    whole, targets, inspectors, plan = local_draw(method)
    merged = distributed_selection(
        app,
        snapshot_sha256=sha256,
        plan=plan,
        seed=SEED,
        public_value=PUBLIC,
        parts=parts,
        timeout=120,
    )
    assert_same_selection(merged, whole.selection)
    result = finish_draw(
        seed=SEED,
        public_value=PUBLIC,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        team_options=synthetic_team_options(targets, inspectors, plan),
        selection=merged,
    )
    assert_same_result(result, whole)


def test_a_draw_in_parts_on_a_redis_worker_equals_the_local_draw(stored, redis_settings) -> None:
    with running_worker(redis_settings) as app:
        for method, parts in (("exact", 3), ("poisson", 3), ("exact", 5), ("poisson", 12)):
            check_distributed_equals_local(app, stored.sha256, method, parts)


def part_kwargs(sha256: str, strata: list[int], group: int = 0, groups: int = 1) -> dict:
    targets, _, plan = inputs()
    key = draw_key(SEED, PUBLIC)
    return {
        "snapshot_sha256": sha256,
        "plan": encode_plan(plan),
        "key": key.hex(),
        "allocation": encode_allocation(draw_allocation(key=key, plan=plan, targets=targets)),
        "strata": strata,
        "group": group,
        "groups": groups,
    }


def test_a_retried_part_gives_the_same_bytes(stored, redis_settings) -> None:
    kwargs = part_kwargs(stored.sha256, [1, 4, 9], group=1, groups=3)
    with running_worker(redis_settings) as app:
        first = app.signature("enforcement.tasks.draw_part", kwargs=kwargs).delay().get(60)
        again = app.signature("enforcement.tasks.draw_part", kwargs=kwargs).delay().get(60)
    assert first == again
    assert first["group"] == 1 and first["strata"] == [1, 4, 9]
    engine = make_engine(stored.url)
    try:
        with Session(engine) as session:  # the same part computed in this process
            assert compute_part(session, **kwargs) == first
    finally:
        engine.dispose()
    assert decode_selection(first["selection"]).computed_strata.tolist() == [1, 4, 9]


def test_a_failing_part_or_merge_is_named(stored, redis_settings) -> None:
    missing = "0" * 64
    targets, _, plan = inputs()
    key = draw_key(SEED, PUBLIC)
    allocation = draw_allocation(key=key, plan=plan, targets=targets)
    with running_worker(redis_settings) as app:
        # A part for strata that do not exist, and a part of a snapshot that does not exist.
        task = app.signature(
            "enforcement.tasks.draw_part", kwargs=part_kwargs(stored.sha256, [3, 99], 1, 3)
        )
        with pytest.raises(
            DrawPartError,
            match=r"part 2 of 3 \(strata 3, 99: '330100\|D'.*"
            r"strata \[3, 99\] do not exist: .* codes 0\.\.11",
        ):
            task.delay().get(timeout=60)
        task = app.signature("enforcement.tasks.draw_part", kwargs=part_kwargs(missing, [0]))
        with pytest.raises(DrawPartError, match=f"part 1 of 1 .* no candidate snapshot {missing}"):
            task.delay().get(timeout=60)

        # In a draw in parts: the client names the group that failed...
        groups = [list(range(6)), [*range(6, 12), 40]]
        with pytest.raises(
            DistributedDrawError,
            match=r"part 2 of 2 \(strata 6, 7, 8, 9, 10 "
            r"and 2 more.*do not exist",
        ):
            draw_in_parts(
                app,
                snapshot_sha256=stored.sha256,
                plan=plan,
                key=key,
                allocation=allocation,
                groups=groups,
                timeout=60,
                labels=targets.stratum_labels,
            )
        # ... and the merge, when every part worked but a stratum is in none of them.
        with pytest.raises(
            DistributedDrawError,
            match=r"merging the 2 parts failed: stratum "
            r"'330102\|D' is in no part",
        ):
            draw_in_parts(
                app,
                snapshot_sha256=stored.sha256,
                plan=plan,
                key=key,
                allocation=allocation,
                groups=[[0, 1, 2], list(range(3, 11))],
                timeout=60,
            )

        # The client itself refuses a snapshot that is not (or not yet) committed.
        with pytest.raises(
            SnapshotMissingError,
            match=f"no candidate snapshot {missing}: store the snapshot and commit",
        ):
            distributed_selection(
                app,
                snapshot_sha256=missing,
                plan=plan,
                seed=SEED,
                public_value=PUBLIC,
                parts=3,
                timeout=60,
            )


def test_no_worker_gives_a_timeout_that_says_so(stored, redis_settings) -> None:
    _, _, plan = inputs()
    app = configure(celery_app, redis_settings)
    try:
        with pytest.raises(
            DistributedDrawError,
            match=r"did not finish within 1 s \(0 of 2 "
            r"parts done\): is a worker running",
        ):
            distributed_selection(
                app,
                snapshot_sha256=stored.sha256,
                plan=plan,
                seed=SEED,
                public_value=PUBLIC,
                parts=2,
                timeout=1,
            )
    finally:
        app.control.purge()  # the unsent work must not reach a later test's worker
        dispose_engines()


def test_a_draw_in_parts_on_the_embedded_filesystem_broker_equals_the_local_draw(
    new_database_url, tmp_path: Path
) -> None:
    stored_here = store(new_database_url("spatialite"))
    settings = {  # development.ini: no server at all
        "celery.broker_url": "filesystem://",
        "celery.broker_folder": str(tmp_path / "broker"),
        "celery.result_backend": f"file://{tmp_path}/celery-results",
        "suijian.var_dir": str(tmp_path),
        "sqlalchemy.url": stored_here.url,
    }
    with running_worker(settings) as app:
        check_distributed_equals_local(app, stored_here.sha256, "exact", 3)
