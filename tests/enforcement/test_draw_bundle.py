"""Publishing a drawn plan as a bundle and verifying the bundle without the database."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.cli import main
from enforcement.models import Inspector, PlanStateError, PlanStatus, SamplingPlan
from enforcement.services import audit
from enforcement.services.draws import DrawService
from enforcement.services.plans import PermissionDeniedError, PlanService
from enforcement.services.publication import (
    BundleError,
    PublicationService,
    bundle_sha256,
    read_bundle,
    snapshot_arrays,
    verify_bundle,
    write_bundle,
)
from random_sampler import seeds
from random_sampler.archive import SnapshotArchive
from random_sampler.draw import snapshot_hash
from tests.factories import load_small_demo, user_named

SEED = bytes.fromhex("3c" * 32)
ITEMS = ["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"]
NOW = dt.datetime(2025, 3, 5, 2, 0, tzinfo=dt.UTC)


def _clock() -> dt.datetime:
    return NOW


@pytest.fixture
def demo(db_session: Session) -> Session:
    return load_small_demo(db_session, 11)


def _plan(session: Session, *, draw: bool = True) -> SamplingPlan:
    supervisor = user_named(session, "supervisor")
    service = PlanService(session, supervisor, clock=_clock)
    plan = service.create(
        code="2025-PUB-01",
        title="2025年公示抽查",
        year=2025,
        items=ITEMS,
        jurisdictions=["330783", "330702"],
        tier_ratios={"A": 0.03, "B": 0.5, "C": 0.3, "D": 0.8},
        recuse_same_jurisdiction=True,
    )
    service.approve(plan)
    service.commit_seed(plan, seeds.commit(SEED), public_value_source="福彩 2025-03-04")
    if draw:
        DrawService(session, supervisor, clock=_clock).draw(plan, SEED, "03 07 12 + 09")
    return plan


@pytest.fixture
def published(demo: Session) -> tuple[SamplingPlan, dict[str, Any]]:
    plan = _plan(demo)
    bundle = PublicationService(demo, user_named(demo, "supervisor"), clock=_clock).publish(plan)
    demo.flush()
    return plan, bundle


def test_publish_marks_the_plan_and_the_bundle_verifies(
    demo: Session, published: tuple[SamplingPlan, dict[str, Any]], tmp_path: Path
) -> None:
    plan, bundle = published
    assert plan.status is PlanStatus.PUBLISHED
    assert plan.published_by_id == user_named(demo, "supervisor").id and plan.published_at == NOW
    trail = [row for row in audit.history(demo, plan) if row.action == "plan.publish"]
    assert len(trail) == 1 and trail[0].details["snapshot_hash"] == bundle["snapshot_hash"]
    assert bundle["database_snapshot_hash"] == plan.draw.snapshot_hash

    tasks = sorted(plan.draw.tasks, key=lambda t: t.id)
    drawn = [t for t in tasks if not t.is_alternate]
    assert bundle["result"]["drawn"] == [t.enterprise_id for t in drawn]
    assert [(a["target_id"], a["rank"]) for a in bundle["result"]["alternates"]] == [
        (t.enterprise_id, t.alternate_rank) for t in tasks if t.is_alternate
    ]
    # Pseudonyms are the inspectors' ranks by id: the same teams as the stored tasks.
    ids = sorted(demo.scalars(select(Inspector.id)))
    teams = bundle["result"]["teams"]
    assert any(teams)
    assert [[ids[p] for p in team] for team in teams] == [
        [m.inspector_id for m in t.members] for t in drawn
    ]
    assert bundle["snapshot"]["inspectors"]["inspector_id"] == list(range(len(ids)))
    for task in drawn:
        assert bundle["result"]["enterprises"][str(task.enterprise_id)]["uscc"] == (
            task.enterprise.uscc
        )

    assert verify_bundle(bundle) is None
    for name in ("bundle.json", "bundle.json.gz"):
        write_bundle(bundle, tmp_path / name)
        assert verify_bundle(read_bundle(tmp_path / name)) is None
    assert (tmp_path / "bundle.json.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_the_bundle_is_hashed_and_written_in_pieces_as_one_text_would_be(
    published: tuple[SamplingPlan, dict[str, Any]], tmp_path: Path
) -> None:
    bundle = published[1]
    assert bundle["snapshot"]["targets"]["months_since_last"].count(None) > 0  # NaN as null
    whole = json.dumps(
        bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    assert bundle_sha256(bundle) == hashlib.sha256(whole.encode("utf-8")).hexdigest()

    write_bundle(bundle, tmp_path / "bundle.json")
    text = (tmp_path / "bundle.json").read_text(encoding="utf-8")
    assert json.loads(text) == bundle
    # One line a member: a province's arrays do not become a line per value.
    targets = bundle["snapshot"]["targets"]
    lines = [line.strip() for line in text.splitlines()]
    assert all(line[0] in '"{}' for line in lines)  # no line holds a bare value
    assert f'\n   "target_id": {json.dumps(targets["target_id"], separators=(",", ":"))}' in text

    write_bundle(bundle, tmp_path / "a.json.gz")
    write_bundle(bundle, tmp_path / "b.json.gz")
    packed = (tmp_path / "a.json.gz").read_bytes()
    assert packed == (tmp_path / "b.json.gz").read_bytes()  # reproducible
    assert gzip.decompress(packed).decode("utf-8") == text


def test_bundle_holds_no_personal_data_of_inspectors(
    demo: Session, published: tuple[SamplingPlan, dict[str, Any]], tmp_path: Path
) -> None:
    bundle = published[1]
    write_bundle(bundle, tmp_path / "bundle.json")
    text = (tmp_path / "bundle.json").read_text(encoding="utf-8")
    inspectors = demo.scalars(select(Inspector)).all()
    assert inspectors
    for inspector in inspectors:
        assert inspector.name not in text
        assert inspector.credential_no not in text
    assert SEED.hex() in text  # the seed is revealed


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            lambda b: b["result"]["drawn"].__setitem__(1, b["result"]["drawn"][1] + 1),
            "drawn target #2 differs: ",
        ),
        (lambda b: b.__setitem__("seed", "3d" * 32), "seed does not match the commitment"),
        (None, "snapshot hash differs: field targets.stratum"),
        (
            lambda b: b["result"]["teams"][0].reverse(),
            "team of drawn target #1 differs: ",
        ),
        (
            lambda b: b["snapshot"]["inspectors"]["workload"].__setitem__(0, 99),
            "snapshot hash differs: field inspectors.workload",
        ),
    ],
)
def test_tampered_bundle_names_the_first_difference(
    published: tuple[SamplingPlan, dict[str, Any]], tamper: Any, expected: str
) -> None:
    bundle = copy.deepcopy(published[1])
    if tamper is None:  # move the first candidate to another stratum
        stratum = bundle["snapshot"]["targets"]["stratum"]
        assert len(bundle["snapshot"]["targets"]["stratum_labels"]) > 1
        stratum[0] = 1 if stratum[0] == 0 else 0
    else:
        tamper(bundle)
    difference = verify_bundle(bundle)
    assert difference is not None and difference.startswith(expected), difference


def test_forged_snapshot_with_matching_hashes_is_caught_by_the_rerun(
    published: tuple[SamplingPlan, dict[str, Any]],
) -> None:
    """A forger who moves a drawn target to another stratum and re-hashes the snapshot is
    still caught: the re-run no longer gives the published result."""
    bundle = copy.deepcopy(published[1])
    targets = bundle["snapshot"]["targets"]
    drawn = set(bundle["result"]["drawn"])
    row = next(i for i, t in enumerate(targets["target_id"]) if t in drawn)
    targets["stratum"][row] = (targets["stratum"][row] + 1) % len(targets["stratum_labels"])
    _rehash(bundle)
    difference = verify_bundle(bundle)
    assert difference is not None and not difference.startswith("snapshot"), difference


def test_publishing_an_undrawn_plan_or_with_the_wrong_role_is_refused(demo: Session) -> None:
    plan = _plan(demo, draw=False)
    service = PublicationService(demo, user_named(demo, "supervisor"), clock=_clock)
    with pytest.raises(PlanStateError, match="publishing needs status drawn"):
        service.publish(plan)
    DrawService(demo, user_named(demo, "supervisor"), clock=_clock).draw(
        plan, SEED, "03 07 12 + 09"
    )
    with pytest.raises(PermissionDeniedError, match="may not publish a sampling plan"):
        PublicationService(demo, user_named(demo, "inspector"), clock=_clock).publish(plan)
    assert plan.status is PlanStatus.DRAWN and plan.published_at is None
    assert not [row for row in audit.history(demo, plan) if row.action == "plan.publish"]
    service.publish(plan)
    with pytest.raises(PlanStateError, match="is published"):
        service.publish(plan)


def test_pseudonyms_preserving_order_give_the_same_teams(
    published: tuple[SamplingPlan, dict[str, Any]],
) -> None:
    """Spreading the pseudonyms out (order kept) changes nothing but the snapshot hash."""
    bundle = copy.deepcopy(published[1])
    inspectors = bundle["snapshot"]["inspectors"]
    relabel = {p: 1000 + 7 * p for p in inspectors["inspector_id"]}
    inspectors["inspector_id"] = [relabel[p] for p in inspectors["inspector_id"]]
    inspectors["conflict_inspector"] = [relabel[p] for p in inspectors["conflict_inspector"]]
    assert inspectors["conflict_inspector"]
    bundle["result"]["teams"] = [[relabel[p] for p in t] for t in bundle["result"]["teams"]]
    difference = verify_bundle(bundle)
    assert difference == "snapshot hash differs: field inspectors.inspector_id"
    # With the hashes updated, the re-run agrees on everything, teams included.
    _rehash(bundle)
    assert verify_bundle(bundle) is None


def _rehash(bundle: dict[str, Any]) -> None:
    """Recompute the snapshot hash lines, as a forger would."""
    targets, inspectors = snapshot_arrays(bundle)
    bundle["snapshot_digests"] = [*targets.digests, *inspectors.digests]
    bundle["snapshot_hash"] = snapshot_hash(targets, inspectors)
    bundle["result"]["report"]["snapshot_hash"] = bundle["snapshot_hash"]


# ---------------------------------------------------------------------- command line


def _cli(ini: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-c", str(ini), *args])


def _ok(ini: Path, *args: str) -> Result:
    result = _cli(ini, *args)
    assert result.exit_code == 0, result.output
    return result


def test_cli_publish_and_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = sqlite:///{tmp_path / 'publish.sqlite'}\n"
    )
    _ok(ini, "db", "upgrade")
    _ok(ini, "demo", "load", "--enterprises", "300", "--inspectors", "30")
    create = ["plan", "create", "--code", "CLI-PUB", "--title", "公示", "--year", "2025"]
    create += ["--items", ",".join(ITEMS), "--jurisdictions", "330783,330702"]
    create += ["--ratios", "A=0.03,B=0.4,C=0.3,D=0.8"]
    _ok(ini, *create, "--as", "supervisor")
    _ok(ini, "plan", "approve", "CLI-PUB", "--as", "supervisor")
    _ok(ini, "plan", "commit", "CLI-PUB", "--commitment", seeds.commit(SEED), "--as", "supervisor")
    out = tmp_path / "CLI-PUB.json.gz"
    early = _cli(ini, "draw", "publish", "CLI-PUB", "--out", str(out), "--as", "supervisor")
    assert early.exit_code == 1 and "publishing needs status drawn" in early.output
    assert not out.exists()
    _ok(ini, "plan", "draw", "CLI-PUB", "--seed", SEED.hex(), "--as", "supervisor")
    role = _cli(ini, "draw", "publish", "CLI-PUB", "--out", str(out), "--as", "inspector")
    assert role.exit_code == 1 and "may not publish a sampling plan" in role.output
    assert not out.exists()

    published = _ok(ini, "draw", "publish", "CLI-PUB", "--out", str(out), "--as", "supervisor")
    assert "published" in published.output and out.exists()
    assert not list(tmp_path.glob("*.tmp"))
    assert '"status": "published"' in _ok(ini, "plan", "show", "CLI-PUB", "--json").stdout

    # Verification needs no database: point the config at one that does not exist.
    nowhere = tmp_path / "nowhere.ini"
    nowhere.write_text("[app:main]\nsqlalchemy.url = sqlite:////nonexistent/x.sqlite\n")
    assert _ok(nowhere, "draw", "verify", str(out)).output == "OK\n"

    bundle = read_bundle(out)
    bundle["result"]["drawn"][0] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    failed = _cli(nowhere, "draw", "verify", str(tampered))
    first = bundle["result"]["drawn"][0]
    assert failed.exit_code == 1
    assert failed.output == f"drawn target #1 differs: {first} != {first - 1}\n"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    assert _cli(nowhere, "draw", "verify", str(garbage)).exit_code == 1


def test_verify_rejects_unreadable_arrays(published: tuple[SamplingPlan, dict[str, Any]]) -> None:
    bundle = copy.deepcopy(published[1])
    bundle["snapshot"]["targets"]["stratum"] = bundle["snapshot"]["targets"]["stratum"][:-1]
    difference = verify_bundle(bundle)
    assert difference is not None and difference.startswith("bundle is malformed: "), difference


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not json", "not a readable bundle"),
        (b'{"format": "suijian-bundle/1", "seed": "\xff\xfe"}', "not a readable bundle"),
        (b"\x1f\x8b\x08\x00broken", "not a readable bundle"),
        (b'{"format": NaN}', "not a readable bundle"),
        (b"[1, 2, 3]", "expected a JSON object"),
    ],
    ids=["text", "bad-utf8", "broken-gzip", "nan", "array"],
)
def test_an_unreadable_bundle_file_is_refused_with_its_reason(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    with pytest.raises(BundleError, match=why) as refused:
        read_bundle(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_the_bundle_shows_the_inputs_stored_at_draw_time(demo: Session) -> None:
    """Registry changes after the draw (a new enterprise, a retired inspector) do not change
    what the bundle publishes: it is built from the snapshot stored with the draw."""
    plan = _plan(demo)
    stored = plan.draw.snapshot
    assert stored is not None and stored.snapshot_hash == plan.draw.snapshot_hash
    assert stored.targets > 0 and stored.size == len(stored.data)
    at_draw = SnapshotArchive.from_bytes(stored.data).inspectors.active.tolist()
    inspector = demo.scalars(
        select(Inspector).where(Inspector.active).order_by(Inspector.id)
    ).first()
    inspector.active = False
    template = plan.draw.tasks[0].enterprise
    demo.add(
        type(template)(
            natural_key="late-arrival",
            name="后来登记的企业",
            jurisdiction_id=template.jurisdiction_id,
            status=template.status,
            entity_type=template.entity_type,
            industry_code=template.industry_code,
        )
    )
    demo.flush()

    bundle = PublicationService(demo, user_named(demo, "supervisor"), clock=_clock).publish(plan)
    assert bundle["database_snapshot_hash"] == plan.draw.snapshot_hash
    assert len(bundle["snapshot"]["targets"]["target_id"]) == stored.targets
    assert bundle["snapshot"]["inspectors"]["active"] == at_draw
    assert verify_bundle(bundle) is None
