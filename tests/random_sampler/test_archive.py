"""The stored snapshot archive: a lossless, byte-reproducible copy of a draw's inputs."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from random_sampler.archive import ArchiveError, SnapshotArchive, archive_sha256
from random_sampler.draw import InspectorArrays, run_draw, snapshot_hash
from random_sampler.synthetic import synthetic_inputs, synthetic_team_options


def test_round_trip_keeps_every_array_and_the_draw() -> None:
    targets, inspectors, plan = synthetic_inputs(2000, 80, 9, seed=3)
    archive = SnapshotArchive(targets, inspectors, {"items": ["X-1", "Y-2"], "departments": [4]})
    data = archive.to_bytes()
    back = SnapshotArchive.from_bytes(data)

    assert back.meta == {"items": ["X-1", "Y-2"], "departments": [4]}
    assert back.targets.stratum_labels == targets.stratum_labels
    assert snapshot_hash(back.targets, back.inspectors) == snapshot_hash(targets, inspectors)
    np.testing.assert_array_equal(back.targets.months_since_last, targets.months_since_last)
    assert back.targets.eligible_items.dtype == targets.eligible_items.dtype
    options = synthetic_team_options(targets, inspectors, plan)
    kwargs = {"seed": b"s", "public_value": None, "plan": plan, "team_options": options}
    first = run_draw(targets=targets, inspectors=inspectors, **kwargs)
    second = run_draw(targets=back.targets, inspectors=back.inspectors, **kwargs)
    np.testing.assert_array_equal(first.drawn_id, second.drawn_id)
    np.testing.assert_array_equal(first.team_member_id, second.team_member_id)


def test_same_inputs_give_the_same_bytes_and_a_change_another_address() -> None:
    targets, inspectors, _plan = synthetic_inputs(500, 30, 4, seed=1)
    one = SnapshotArchive(targets, inspectors, {"items": []}).to_bytes()
    assert SnapshotArchive(targets, inspectors, {"items": []}).to_bytes() == one
    workload = np.array(inspectors.workload)
    workload[0] += 1
    changed = InspectorArrays(
        inspector_id=inspectors.inspector_id,
        department=inspectors.department,
        active=inspectors.active,
        workload=workload,
        jurisdiction=inspectors.jurisdiction,
    )
    other = SnapshotArchive(targets, changed, {"items": []}).to_bytes()
    assert archive_sha256(other) != archive_sha256(one)


def test_unreadable_archives_are_refused_with_the_reason() -> None:
    with pytest.raises(ArchiveError, match="not a snapshot archive"):
        SnapshotArchive.from_bytes(b"not a zip")
    targets, inspectors, _plan = synthetic_inputs(50, 10, 2, seed=2)
    data = SnapshotArchive(targets, inspectors, {}).to_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            if name != "targets.stratum.npy":
                target.writestr(name, source.read(name))
    with pytest.raises(ArchiveError, match="stratum"):
        SnapshotArchive.from_bytes(buffer.getvalue())
