"""Open data: a stable schema (the dictionary lists every exported column, in order, and the
documentation names them all), CSV and JSON with the same rows, masking, withdrawn records."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from enforcement.models import PublicKind, PublicRecord, Role, User
from enforcement.services import disclosure, open_data
from enforcement.services.disclosure import DisclosureService
from enforcement.services.publication import PublicationService
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.factories import user_named
from tests.field_work import drawn_field_work

DOCS = Path(__file__).resolve().parents[2] / "docs" / "open-data.md"

#: The published schema, version 1. Changing a column is a new schema version: change
#: SCHEMA_VERSION, the dictionary, docs/open-data.md and this list together.
SCHEMA_V1 = {
    "plans": "plan_code title year plan_status departments item_codes item_names "
    "jurisdiction_adcodes jurisdiction_names tier_ratio_a tier_ratio_b tier_ratio_c "
    "tier_ratio_d budget method due_date seed_commitment public_value_source drawn_at "
    "supersedes superseded_by redraw_reason",
    "draws": "plan_code plan_title drawn_at algorithm_version seed_commitment seed public_value "
    "snapshot_hash bundle_url superseded_by target_enterprise_name target_enterprise_uscc "
    "target_alternate target_alternate_rank target_due_date",
    "results": "inspection_uuid plan_code enterprise_name enterprise_uscc entity_type "
    "legal_representative jurisdiction_adcode jurisdiction_name department_code "
    "department_name item_codes item_names inspected_on finished_on result result_label_zh "
    "result_label_en rectification_due finding_count finding_items team reply_count",
    "penalties": "decision_no enterprise_name enterprise_uscc entity_type legal_representative "
    "department_code department_name decided_on measure measure_label_zh amount legal_basis "
    "violation reconsideration reply_count",
}
COMMON = [
    "record_id",
    "status",
    "published_at",
    "due_on",
    "revision",
    "withdrawn_at",
    "withdrawal_reason",
    "corrections",
]
TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "date": (str,),
    "datetime": (str,),
}


def test_the_schema_is_version_1_and_unchanged() -> None:
    assert disclosure.SCHEMA_VERSION == "1"
    for name, columns in SCHEMA_V1.items():
        assert open_data.dataset(name).column_names == COMMON + columns.split()
    assert sorted(open_data.DATASETS) == sorted(SCHEMA_V1)


def test_the_dictionary_describes_every_column_and_the_docs_name_them() -> None:
    dictionary = open_data.dictionary()
    assert dictionary["schema_version"] == "1"
    docs = DOCS.read_text(encoding="utf-8")
    for entry in dictionary["datasets"]:
        ds = open_data.dataset(entry["name"])
        assert [c["name"] for c in entry["columns"]] == ds.column_names
        for column in entry["columns"]:
            assert column["type"] in TYPES
            assert column["description"]["zh"] and column["description"]["en"]
            assert re.search(rf"`{column['name']}`", docs), f"docs miss {column['name']}"
        assert entry["urls"] == {
            "csv": f"/open-data/{ds.name}.csv",
            "json": f"/open-data/{ds.name}.json",
        }
        assert entry["urls"]["csv"] in docs
    assert "/open-data/dictionary.json" in docs


@pytest.fixture
def scene(db_session: Session) -> Scene:
    scene = make_scene(db_session)
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    disclosure.run(db_session, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    return scene


def _csv(db_session: Session, name: str) -> list[dict[str, str]]:
    body = open_data.render(db_session, name, "csv")
    reader = csv.DictReader(io.StringIO(body))
    assert reader.fieldnames == open_data.dataset(name).column_names  # every column, in order
    return list(reader)


def test_results_export_as_csv_and_json_with_the_dictionary_columns(
    db_session: Session, scene: Scene
) -> None:
    owner = User(
        username="owner", display_name="企业", role=Role.ENTERPRISE, password_hash="x",
        enterprise_id=scene.enterprise.id,
    )  # fmt: skip
    db_session.add(owner)
    db_session.flush()
    (record,) = db_session.query(PublicRecord).all()
    DisclosureService(db_session, owner).reply(record.id, "已整改完毕。")

    (row,) = _csv(db_session, "results")
    assert row["record_id"] == str(record.id) and row["status"] == "published"
    assert row["enterprise_uscc"] == scene.enterprise.uscc
    assert row["team"] == "张*;李*" and row["result"] == "rectification_ordered"
    assert row["finding_count"] == "1" and row["reply_count"] == "1"
    assert row["withdrawn_at"] == "" and row["revision"] == "1"
    assert "张晓明" not in json.dumps(row, ensure_ascii=False)

    document = json.loads(open_data.render(db_session, "results", "json"))
    assert document["schema_version"] == "1" and document["count"] == 1
    assert document["columns"] == open_data.dataset("results").column_names
    (item,) = document["records"]
    assert list(item) == document["columns"]
    types = {c.name: c.type for c in open_data.dataset("results").columns}
    for name, value in item.items():
        assert value is None or isinstance(value, TYPES[types[name]]), name
    assert item["finding_count"] == 1 and item["published_at"] == record.published_at.isoformat()
    dt.date.fromisoformat(item["inspected_on"])


def test_a_withdrawn_record_keeps_only_its_key_and_the_reason(
    db_session: Session, scene: Scene
) -> None:
    (record,) = db_session.query(PublicRecord).all()
    disclosure.withdraw(
        db_session, record, "检查对象有误，联系人13812345678", now=FINISHED_AT, actor=None
    )
    (row,) = _csv(db_session, "results")
    assert row["status"] == "withdrawn"
    assert row["inspection_uuid"] == str(scene.inspection.uuid)
    assert row["withdrawal_reason"] == "检查对象有误，联系人138****5678"
    assert row["enterprise_name"] == row["enterprise_uscc"] == row["result"] == ""


def test_draws_have_one_row_per_target_and_the_bundle_link(db_session: Session) -> None:
    field = drawn_field_work(db_session)
    plan = field.task.draw.plan
    now = plan.drawn_at + dt.timedelta(hours=1)
    PublicationService(db_session, user_named(db_session, "supervisor"), clock=lambda: now).publish(
        plan
    )
    disclosure.run(db_session, clock=lambda: now)
    rows = _csv(db_session, "draws")
    assert len(rows) == len(plan.draw.tasks)
    assert {r["bundle_url"] for r in rows} == {f"/api/v1/plans/{plan.code}/bundle"}
    assert {r["target_alternate"] for r in rows} <= {"true", "false"}
    drawn = {r["target_enterprise_uscc"] for r in rows if r["target_alternate"] == "false"}
    assert field.task.enterprise.uscc in drawn
    (plan_row,) = _csv(db_session, "plans")
    assert (
        plan_row["plan_code"] == plan.code and plan_row["seed_commitment"] == plan.seed_commitment
    )
    assert float(plan_row["tier_ratio_d"]) == plan.tier_ratios["D"]
    assert _csv(db_session, "penalties") == []


def test_pending_records_are_not_open_data(db_session: Session) -> None:
    scene = make_scene(db_session)
    finish(scene.inspection, None, refused=True)
    db_session.flush()
    hold = {"suijian.publication.hold_working_days": "5"}
    disclosure.run(db_session, settings=hold, clock=lambda: FINISHED_AT)
    assert db_session.query(PublicRecord).filter_by(kind=PublicKind.RESULT).count() == 1
    assert _csv(db_session, "results") == []
    before = open_data.fingerprint(db_session, open_data.dataset("results"))
    disclosure.run(db_session, settings=hold, clock=lambda: FINISHED_AT + dt.timedelta(days=30))
    assert open_data.fingerprint(db_session, open_data.dataset("results")) != before


def test_export_writes_every_dataset_and_the_dictionary(
    db_session: Session, scene: Scene, tmp_path: Path
) -> None:
    written = open_data.export(db_session, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [f"{n}.{f}" for n in open_data.DATASETS for f in ("csv", "json")] + ["dictionary.json"]
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["count"] == 1
    with pytest.raises(KeyError, match="no dataset"):
        open_data.render(db_session, "secrets", "csv")
