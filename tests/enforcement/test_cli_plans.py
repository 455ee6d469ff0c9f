"""``suijian plan``: the life cycle from the command line, on a migrated demo database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select

from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import AuditLog, SamplingPlan
from random_sampler import seeds

ITEMS = "SCJG-GS-001,SPAQ-JY-001,TZSB-SY-001"


class Suijian:
    """Runs ``suijian -c <ini> ...`` in-process against one database file."""

    def __init__(self, ini: str, database: Path) -> None:
        self.ini = ini
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(main, ["-c", self.ini, *args])

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def show(self, code: str) -> dict[str, Any]:
        return json.loads(self.ok("plan", "show", code, "--json").stdout)

    def create(self, code: str, *extra: str, user: str = "supervisor") -> Result:
        return self(
            "plan",
            "create",
            "--code",
            code,
            "--title",
            "2025年东阳市双随机抽查计划",
            "--year",
            "2025",
            "--items",
            ITEMS,
            "--jurisdictions",
            "330783,330702",
            "--ratios",
            "A=0.03,B=0.1,C=0.3,D=0.8",
            *extra,
            "--as",
            user,
        )


@pytest.fixture(scope="module")
def suijian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suijian]:
    directory = tmp_path_factory.mktemp("plans-cli")
    database = directory / "plans.sqlite"
    ini = directory / "test.ini"
    ini.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = sqlite:///{database}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        cli = Suijian(str(ini), database)
        cli.ok("db", "upgrade")
        cli.ok("demo", "load", "--enterprises", "300", "--inspectors", "20")
        yield cli


@pytest.fixture(scope="module")
def plans_engine(suijian: Suijian) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{suijian.database}")
    yield engine
    engine.dispose()


def test_schema_matches_the_models(suijian: Suijian) -> None:
    assert "models and migrations agree" in suijian.ok("db", "check").output


def test_create_approve_commit_show(suijian: Suijian, plans_engine: Engine) -> None:
    created = suijian.create(
        "CLI-01",
        "--budget",
        "40",
        "--method",
        "poisson",
        "--exclude-within-months",
        "6",
        "--annual-cap",
        "3",
        "--alternates",
        "2",
        "--team-size",
        "3",
        "--workload-cap",
        "20",
        "--recuse-same-jurisdiction",
        "--strata",
        "tier,jurisdiction",
        "--due-date",
        "2025-11-30",
    )
    assert created.exit_code == 0, created.output
    assert "plan CLI-01 created as a draft" in created.output
    plan = suijian.show("CLI-01")
    assert plan["status"] == "draft"
    assert [item["code"] for item in plan["items"]] == ITEMS.split(",")
    assert plan["departments"] == ["SCJG", "SPAQ", "TZSB"]
    assert [j["adcode"] for j in plan["jurisdictions"]] == ["330783", "330702"]
    assert plan["tier_ratios"] == {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.8}
    assert (plan["budget"], plan["method"], plan["team_size"]) == (40, "poisson", 3)
    assert (plan["exclude_within_months"], plan["annual_cap"]) == (6, 3)
    assert (plan["alternates_per_stratum"], plan["workload_cap"]) == (2, 20)
    assert plan["strata_keys"] == ["tier", "jurisdiction"]
    assert plan["recuse_same_jurisdiction"] is True
    assert plan["due_date"] == "2025-11-30"
    assert plan["created_by"] == "supervisor"

    suijian.ok("plan", "approve", "CLI-01", "--as", "supervisor")
    assert suijian.show("CLI-01")["status"] == "approved"

    committed = suijian.ok("plan", "commit", "CLI-01", "--as", "supervisor")
    seed_lines = [line for line in committed.stdout.splitlines() if line.startswith("seed: ")]
    assert len(seed_lines) == 1
    seed_hex = seed_lines[0].removeprefix("seed: ")
    seed = bytes.fromhex(seed_hex)
    assert len(seed) == 32
    assert "shown ONCE" in committed.stderr
    plan = suijian.show("CLI-01")
    assert plan["status"] == "seed_committed"
    assert plan["committed_by"] == "supervisor"
    assert seeds.verify_commitment(seed, plan["seed_commitment"])
    assert plan["revealed_seed"] is None

    # The seed is printed once and stored nowhere: not in the database, not in `show`.
    plans_engine.dispose()
    for path in suijian.database.parent.glob("plans.sqlite*"):
        assert seed_hex.encode() not in path.read_bytes(), path
    assert seed_hex not in suijian.ok("plan", "show", "CLI-01").output

    with plans_engine.connect() as conn:
        plan_id = conn.scalar(select(SamplingPlan.id).where(SamplingPlan.code == "CLI-01"))
        actions = conn.execute(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "sampling_plans", AuditLog.entity_id == str(plan_id))
            .order_by(AuditLog.id)
        ).scalars()
        assert list(actions) == ["plan.create", "plan.approve", "plan.commit_seed"]


def test_commit_an_offline_commitment(suijian: Suijian) -> None:
    suijian.ok(*_create_args("CLI-02"))
    suijian.ok("plan", "approve", "CLI-02", "--as", "admin")
    seed = b"chosen by the supervisor off-line, kept in a sealed envelope"
    commitment = seeds.commit(seed)
    result = suijian.ok(
        "plan",
        "commit",
        "CLI-02",
        "--commitment",
        commitment,
        "--public-value-source",
        "福彩双色球 2025-03-04 开奖号码",
        "--as",
        "admin",
    )
    assert "seed: " not in result.output
    plan = suijian.show("CLI-02")
    assert plan["seed_commitment"] == commitment
    assert plan["public_value_source"] == "福彩双色球 2025-03-04 开奖号码"
    assert plan["approved_by"] == plan["committed_by"] == "admin"


def test_an_inspector_cannot_approve(suijian: Suijian) -> None:
    suijian.ok(*_create_args("CLI-03"))
    result = suijian("plan", "approve", "CLI-03", "--as", "inspector")
    assert result.exit_code == 1
    assert "user inspector (role inspector) may not approve" in result.output
    assert suijian.show("CLI-03")["status"] == "draft"
    refused = suijian.create("CLI-04", user="inspector")
    assert refused.exit_code == 1
    assert "may not create" in refused.output


def test_an_unknown_user_is_refused(suijian: Suijian) -> None:
    result = suijian.create("CLI-05", user="nobody")
    assert result.exit_code == 1
    assert "--as: no user named 'nobody'" in result.output
    assert "CLI-05" not in suijian.ok("plan", "list").output


def test_validation_errors_name_the_options(suijian: Suijian) -> None:
    result = suijian(
        "plan",
        "create",
        "--code",
        "CLI-06",
        "--title",
        "t",
        "--year",
        "2025",
        "--items",
        "SCJG-GS-001,NOPE-9",
        "--jurisdictions",
        "330783",
        "--ratios",
        "A=1.5,B=0.1,C=0.3,D=0.8",
        "--team-size",
        "1",
        "--as",
        "supervisor",
    )
    assert result.exit_code == 1
    assert "--items: not on the inspection item list: NOPE-9" in result.output
    assert "--ratios: tier A: 1.5 is not between 0 and 1" in result.output
    assert "--team-size: must be between 2 and 20, not 1" in result.output
    assert "CLI-06" not in suijian.ok("plan", "list").output

    malformed = suijian(*_create_args("CLI-07")[:-2], "--ratios", "A:0.1", "--as", "supervisor")
    assert malformed.exit_code == 2
    assert "'A:0.1' is not TIER=RATIO" in malformed.output


def test_wrong_state_and_unknown_plan(suijian: Suijian) -> None:
    suijian.ok(*_create_args("CLI-08"))
    early = suijian("plan", "commit", "CLI-08", "--as", "supervisor")
    assert early.exit_code == 1
    assert "plan CLI-08 is draft: commit a seed needs status approved" in early.output
    assert "seed: " not in early.output  # no seed is shown when nothing was committed
    suijian.ok("plan", "approve", "CLI-08", "--as", "supervisor")
    again = suijian("plan", "approve", "CLI-08", "--as", "supervisor")
    assert again.exit_code == 1
    assert "is approved: approve needs status draft" in again.output
    missing = suijian("plan", "show", "NO-SUCH-PLAN")
    assert missing.exit_code == 1
    assert "no sampling plan with code 'NO-SUCH-PLAN'" in missing.output


def test_redraw_and_list(suijian: Suijian) -> None:
    suijian.ok(*_create_args("CLI-09"))
    suijian.ok("plan", "approve", "CLI-09", "--as", "supervisor")
    suijian.ok("plan", "commit", "CLI-09", "--as", "supervisor")
    result = suijian.ok(
        "plan", "redraw", "CLI-09", "--reason", "秘密种子遗失", "--as", "supervisor"
    )
    assert "plan CLI-09-R1 created as a draft; it supersedes CLI-09" in result.output
    new = suijian.show("CLI-09-R1")
    assert (new["status"], new["supersedes"], new["redraw_reason"]) == (
        "draft",
        "CLI-09",
        "秘密种子遗失",
    )
    assert suijian.show("CLI-09")["superseded_by"] == "CLI-09-R1"
    shown = suijian.ok("plan", "show", "CLI-09-R1").output
    assert "supersedes          CLI-09 (秘密种子遗失)" in shown

    listing = suijian.ok("plan", "list").output.splitlines()
    codes = [line.split()[0] for line in listing]
    assert {"CLI-09", "CLI-09-R1"} <= set(codes)
    assert codes == sorted(codes)  # one year: ordered by code
    drafts = suijian.ok("plan", "list", "--status", "draft").output
    assert "CLI-09-R1" in drafts and "CLI-09 " not in drafts


def _create_args(code: str) -> list[str]:
    return [
        "plan",
        "create",
        "--code",
        code,
        "--title",
        "计划",
        "--year",
        "2025",
        "--items",
        ITEMS,
        "--jurisdictions",
        "330783",
        "--ratios",
        "A=0.03,B=0.1,C=0.3,D=0.8",
        "--as",
        "supervisor",
    ]
