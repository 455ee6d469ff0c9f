# ruff: noqa: E501  (the column tables below read best one column per line)
"""Open data (政府数据开放): the published records as CSV and JSON with a stable, versioned
schema and a machine-readable data dictionary.

Four datasets, one per kind of public record: ``plans``, ``draws`` (one row per drawn target or
alternate, with the link to the draw's verification bundle), ``results`` and ``penalties``.
Every row starts with the same columns about the record itself (id, status, publication and
withdrawal, corrections); a withdrawn record keeps only those and its key (plan code,
inspection UUID, decision number), so consumers can take it down too.

The rows are built from the public (already masked) documents only, never from the registry:
open data cannot show more than the public pages. The column lists below ARE the schema:
adding, removing or renaming a column changes ``SCHEMA_VERSION`` (a test holds them to the
dictionary and to docs/open-data.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import PublicKind, PublicRecord, RecordReply, utcnow
from enforcement.services.disclosure import SCHEMA_VERSION
from enforcement.services.masking import mask_text

FORMATS = ("csv", "json")
DICTIONARY_PATH = "/open-data/dictionary.json"
LIST_SEPARATOR = ";"  # inside one CSV cell: "SJ-01;SJ-02"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, number, boolean, date, datetime
    zh: str
    en: str


Row = dict[str, Any]


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: PublicKind
    title_zh: str
    title_en: str
    row_en: str  # what one row is
    key: str  # the column kept for a withdrawn record
    columns: tuple[Column, ...]
    rows: Callable[[PublicRecord, dict[str, Any], int], list[Row]]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def path(self, fmt: str) -> str:
        return f"/open-data/{self.name}.{fmt}"


COMMON: tuple[Column, ...] = (
    Column("record_id", "integer", "公示记录编号（稳定，不复用）", "Public record id (stable, never reused)"),
    Column("status", "string", "状态：published 公示中 / withdrawn 已撤回", "published or withdrawn"),
    Column("published_at", "datetime", "公示时间（UTC，ISO 8601）", "When it was published (UTC, ISO 8601)"),
    Column("due_on", "date", "法定公示期限（事件后第20个工作日）", "Statutory deadline (20th working day after the event)"),
    Column("revision", "integer", "版本号（每次更新、更正或撤回加一）", "Revision (+1 per update, correction or withdrawal)"),
    Column("withdrawn_at", "datetime", "撤回时间（UTC）", "When it was withdrawn (UTC)"),
    Column("withdrawal_reason", "string", "撤回理由", "Why it was withdrawn"),
    Column("corrections", "string", "更正说明（日期: 理由，多条以分号分隔）", "Corrections (date: reason; …)"),
)  # fmt: skip


def _s(*columns: tuple[str, str, str, str]) -> tuple[Column, ...]:
    return COMMON + tuple(Column(*column) for column in columns)


def _join(values: list[Any]) -> str:
    return LIST_SEPARATOR.join(str(v) for v in values if v is not None and v != "")


def _common(record: PublicRecord) -> Row:
    return {
        "record_id": record.id,
        "status": "withdrawn" if record.withdrawn_at is not None else "published",
        "published_at": _iso(record.published_at),
        "due_on": record.due_on.isoformat(),
        "revision": record.revision,
        "withdrawn_at": _iso(record.withdrawn_at),
        "withdrawal_reason": _masked(record.withdrawal_reason),
        "corrections": _join(
            [
                f"{(c.get('at') or '')[:10]}: {_masked(c.get('reason')) or ''}"
                for c in record.corrections
            ]
        ),
    }


def _masked(text: str | None) -> str | None:
    return mask_text(text)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _department(document: dict[str, Any]) -> tuple[str | None, str | None]:
    department = document.get("department") or {}
    return department.get("code"), department.get("name")


def _plan_rows(record: PublicRecord, d: dict[str, Any], replies: int) -> list[Row]:
    ratios = d.get("tier_ratios") or {}
    return [
        {
            "plan_code": d["plan_code"],
            "title": d.get("title"),
            "year": d.get("year"),
            "plan_status": d.get("status"),
            "departments": _join([x.get("name") for x in d.get("departments") or []]),
            "item_codes": _join([x["code"] for x in d.get("items") or []]),
            "item_names": _join([x.get("name") for x in d.get("items") or []]),
            "jurisdiction_adcodes": _join([x["adcode"] for x in d.get("jurisdictions") or []]),
            "jurisdiction_names": _join([x.get("name") for x in d.get("jurisdictions") or []]),
            "tier_ratio_a": ratios.get("A"),
            "tier_ratio_b": ratios.get("B"),
            "tier_ratio_c": ratios.get("C"),
            "tier_ratio_d": ratios.get("D"),
            "budget": d.get("budget"),
            "method": d.get("method"),
            "due_date": d.get("due_date"),
            "seed_commitment": d.get("seed_commitment"),
            "public_value_source": d.get("public_value_source"),
            "drawn_at": d.get("drawn_at"),
            "supersedes": d.get("supersedes"),
            "superseded_by": d.get("superseded_by"),
            "redraw_reason": d.get("redraw_reason"),
        }
    ]


def _draw_rows(record: PublicRecord, d: dict[str, Any], replies: int) -> list[Row]:
    base = {
        "plan_code": d["plan_code"],
        "plan_title": d.get("plan_title"),
        "drawn_at": d.get("drawn_at"),
        "algorithm_version": d.get("algorithm_version"),
        "seed_commitment": d.get("seed_commitment"),
        "seed": d.get("seed"),
        "public_value": d.get("public_value"),
        "snapshot_hash": d.get("snapshot_hash"),
        "bundle_url": d.get("bundle_url"),
        "superseded_by": d.get("superseded_by"),
    }
    targets = d.get("targets") or [{}]
    return [
        {
            **base,
            "target_enterprise_name": target.get("enterprise_name"),
            "target_enterprise_uscc": target.get("enterprise_uscc"),
            "target_alternate": target.get("alternate"),
            "target_alternate_rank": target.get("alternate_rank"),
            "target_due_date": target.get("due_date"),
        }
        for target in targets
    ]


def _result_rows(record: PublicRecord, d: dict[str, Any], replies: int) -> list[Row]:
    jurisdiction = d.get("jurisdiction") or {}
    code, name = _department(d)
    label = d.get("result_label") or {}
    return [
        {
            "inspection_uuid": d["inspection_uuid"],
            "plan_code": d.get("plan_code"),
            "enterprise_name": d.get("enterprise_name"),
            "enterprise_uscc": d.get("enterprise_uscc"),
            "entity_type": d.get("entity_type"),
            "legal_representative": d.get("legal_representative"),
            "jurisdiction_adcode": jurisdiction.get("adcode"),
            "jurisdiction_name": jurisdiction.get("name"),
            "department_code": code,
            "department_name": name,
            "item_codes": _join([x["code"] for x in d.get("items") or []]),
            "item_names": _join([x.get("name") for x in d.get("items") or []]),
            "inspected_on": d.get("inspected_on"),
            "finished_on": d.get("finished_on"),
            "result": d.get("result"),
            "result_label_zh": label.get("zh"),
            "result_label_en": label.get("en"),
            "rectification_due": d.get("rectification_due"),
            "finding_count": len(d.get("findings") or []),
            "finding_items": _join(
                [f"{x['item_code']}:{x.get('severity', '')}" for x in d.get("findings") or []]
            ),
            "team": _join(d.get("team") or []),
            "reply_count": replies,
        }
    ]


def _penalty_rows(record: PublicRecord, d: dict[str, Any], replies: int) -> list[Row]:
    code, name = _department(d)
    label = d.get("measure_label") or {}
    return [
        {
            "decision_no": d["decision_no"],
            "enterprise_name": d.get("enterprise_name"),
            "enterprise_uscc": d.get("enterprise_uscc"),
            "entity_type": d.get("entity_type"),
            "legal_representative": d.get("legal_representative"),
            "department_code": code,
            "department_name": name,
            "decided_on": d.get("decided_on"),
            "measure": d.get("measure"),
            "measure_label_zh": label.get("zh"),
            "amount": None if d.get("amount") is None else float(d["amount"]),
            "legal_basis": d.get("legal_basis"),
            "violation": d.get("violation"),
            "reconsideration": d.get("reconsideration"),
            "reply_count": replies,
        }
    ]


_ENTERPRISE = (
    ("enterprise_name", "string", "市场主体名称（个体工商户经营者姓名已遮蔽）", "Market entity name (an individual business's operator masked)"),
    ("enterprise_uscc", "string", "统一社会信用代码", "Unified social credit code (USCC)"),
    ("entity_type", "string", "主体类型：company, individual_business, …", "Entity type: company, individual_business, …"),
    ("legal_representative", "string", "法定代表人（个体工商户经营者仅显示姓氏）", "Legal representative (an individual business's operator: surname only)"),
)  # fmt: skip

DATASETS: dict[str, Dataset] = {
    "plans": Dataset(
        name="plans",
        kind=PublicKind.PLAN,
        title_zh="随机抽查计划",
        title_en="Random inspection plans",
        row_en="one sampling plan",
        key="plan_code",
        columns=_s(
            ("plan_code", "string", "计划编号", "Plan code"),
            ("title", "string", "计划名称", "Title"),
            ("year", "integer", "年度", "Year"),
            ("plan_status", "string", "计划状态：drawn 已抽取 / published 已公开", "Plan status: drawn or published"),
            ("departments", "string", "实施部门（联合抽查多个，分号分隔）", "Departments (joint plans: several)"),
            ("item_codes", "string", "抽查事项编码", "Inspection item codes"),
            ("item_names", "string", "抽查事项名称", "Inspection item names"),
            ("jurisdiction_adcodes", "string", "抽查范围行政区划代码", "Scope: division codes"),
            ("jurisdiction_names", "string", "抽查范围行政区划名称", "Scope: division names"),
            ("tier_ratio_a", "number", "A类（低风险）抽查比例", "Sampling ratio, tier A (low risk)"),
            ("tier_ratio_b", "number", "B类抽查比例", "Sampling ratio, tier B"),
            ("tier_ratio_c", "number", "C类抽查比例", "Sampling ratio, tier C"),
            ("tier_ratio_d", "number", "D类（高风险）抽查比例", "Sampling ratio, tier D (high risk)"),
            ("budget", "integer", "抽取总数上限（空：按比例）", "Targets to draw (empty: by ratio)"),
            ("method", "string", "抽样方法：exact / poisson", "Sampling method: exact or poisson"),
            ("due_date", "date", "检查完成期限", "Inspections due by"),
            ("seed_commitment", "string", "随机种子承诺值（SHA-256，抽取前公布）", "Seed commitment (SHA-256, published before the draw)"),
            ("public_value_source", "string", "公开随机值来源", "Source of the public random value"),
            ("drawn_at", "datetime", "抽取时间（UTC）", "When it was drawn (UTC)"),
            ("supersedes", "string", "本计划取代的计划编号（重新抽取）", "Plan this one supersedes (redraw)"),
            ("superseded_by", "string", "取代本计划的计划编号", "Plan that supersedes this one"),
            ("redraw_reason", "string", "重新抽取理由", "Reason for the redraw"),
        ),
        rows=_plan_rows,
    ),
    "draws": Dataset(
        name="draws",
        kind=PublicKind.DRAW,
        title_zh="随机抽取结果",
        title_en="Draw results",
        row_en="one drawn target or alternate of a draw",
        key="plan_code",
        columns=_s(
            ("plan_code", "string", "计划编号", "Plan code"),
            ("plan_title", "string", "计划名称", "Plan title"),
            ("drawn_at", "datetime", "抽取时间（UTC）", "When it was drawn (UTC)"),
            ("algorithm_version", "string", "抽取算法版本", "Draw algorithm version"),
            ("seed_commitment", "string", "随机种子承诺值", "Seed commitment"),
            ("seed", "string", "揭示的随机种子（十六进制）", "Revealed seed (hex)"),
            ("public_value", "string", "公开随机值", "Public random value"),
            ("snapshot_hash", "string", "候选名单快照哈希", "Hash of the candidate snapshot"),
            ("bundle_url", "string", "可验证抽取包的地址（计划公开后）", "Verification bundle (once the plan is published)"),
            ("superseded_by", "string", "取代本次抽取的计划编号", "Plan that supersedes this draw"),
            ("target_enterprise_name", "string", "被抽中的市场主体名称", "Drawn market entity's name"),
            ("target_enterprise_uscc", "string", "被抽中的市场主体统一社会信用代码", "Drawn market entity's USCC"),
            ("target_alternate", "boolean", "是否备选对象", "An alternate (backup target)"),
            ("target_alternate_rank", "integer", "备选顺位", "Alternate's rank"),
            ("target_due_date", "date", "检查完成期限", "Inspection due by"),
        ),
        rows=_draw_rows,
    ),
    "results": Dataset(
        name="results",
        kind=PublicKind.RESULT,
        title_zh="抽查检查结果",
        title_en="Inspection results",
        row_en="one finished field inspection",
        key="inspection_uuid",
        columns=_s(
            ("inspection_uuid", "string", "检查记录编号（UUID）", "Inspection id (UUID)"),
            ("plan_code", "string", "计划编号", "Plan code"),
            *_ENTERPRISE,
            ("jurisdiction_adcode", "string", "所在行政区划代码", "Division code"),
            ("jurisdiction_name", "string", "所在行政区划名称", "Division name"),
            ("department_code", "string", "检查机关代码", "Inspecting department code"),
            ("department_name", "string", "检查机关名称", "Inspecting department name"),
            ("item_codes", "string", "检查事项编码", "Inspection item codes"),
            ("item_names", "string", "检查事项名称", "Inspection item names"),
            ("inspected_on", "date", "检查日期", "Inspected on"),
            ("finished_on", "date", "结果作出日期", "Result given on"),
            ("result", "string", "检查结果代码：no_problem, rectification_ordered, case_filed, suspected_crime", "Result code"),
            ("result_label_zh", "string", "检查结果（中文）", "Result (Chinese)"),
            ("result_label_en", "string", "检查结果（英文）", "Result (English)"),
            ("rectification_due", "date", "整改期限", "Rectification due by"),
            ("finding_count", "integer", "发现问题数", "Number of findings"),
            ("finding_items", "string", "发现问题的检查事项及严重程度（编码:minor/serious/critical）", "Findings: item code and severity"),
            ("team", "string", "检查人员（仅显示姓氏）", "Inspectors (surname only)"),
            ("reply_count", "integer", "企业回应数", "Number of replies by the enterprise"),
        ),
        rows=_result_rows,
    ),
    "penalties": Dataset(
        name="penalties",
        kind=PublicKind.PENALTY,
        title_zh="行政处罚决定",
        title_en="Penalty decisions",
        row_en="one administrative penalty decision",
        key="decision_no",
        columns=_s(
            ("decision_no", "string", "行政处罚决定书文号", "Decision number"),
            *_ENTERPRISE,
            ("department_code", "string", "处罚机关代码", "Deciding department code"),
            ("department_name", "string", "处罚机关名称", "Deciding department name"),
            ("decided_on", "date", "处罚决定日期", "Decided on"),
            ("measure", "string", "处罚种类：warning, fine, confiscation, suspension, revocation", "Measure"),
            ("measure_label_zh", "string", "处罚种类（中文）", "Measure (Chinese)"),
            ("amount", "number", "罚没金额（元）", "Amount (CNY)"),
            ("legal_basis", "string", "处罚依据", "Legal basis"),
            ("violation", "string", "违法事实（案由，个人信息已遮蔽）", "Violation (personal data masked)"),
            ("reconsideration", "string", "行政复议结果：upheld, changed, revoked", "Reconsideration outcome"),
            ("reply_count", "integer", "企业回应数", "Number of replies by the enterprise"),
        ),
        rows=_penalty_rows,
    ),
}  # fmt: skip


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"no dataset {name!r} (one of {', '.join(DATASETS)})") from None


# --- rows ----------------------------------------------------------------------------------------


def rows(session: Session, ds: Dataset) -> Iterator[Row]:
    """Every published record of the dataset's kind, oldest first, as rows of its columns."""
    replies = dict(
        session.execute(
            select(RecordReply.record_id, func.count())
            .join(PublicRecord, PublicRecord.id == RecordReply.record_id)
            .where(PublicRecord.kind == ds.kind)
            .group_by(RecordReply.record_id)
        ).all()
    )
    query = (
        select(PublicRecord)
        .where(PublicRecord.kind == ds.kind, PublicRecord.published_at.is_not(None))
        .order_by(PublicRecord.id)
        .execution_options(yield_per=500)
    )
    names = ds.column_names
    for record in session.scalars(query):
        common = _common(record)
        if record.withdrawn_at is not None:
            yield {name: common.get(name) for name in names} | {ds.key: record.subject_key}
            continue
        for row in ds.rows(record, record.document, int(replies.get(record.id, 0))):
            merged = {**common, **row}
            yield {name: merged.get(name) for name in names}


def fingerprint(session: Session, ds: Dataset) -> str:
    """Changes whenever the dataset's content may change (an ETag)."""
    count, last_id, last_change = session.execute(
        select(func.count(), func.max(PublicRecord.id), func.max(PublicRecord.updated_at)).where(
            PublicRecord.kind == ds.kind, PublicRecord.published_at.is_not(None)
        )
    ).one()
    reply_count, last_reply = session.execute(
        select(func.count(), func.max(RecordReply.id))
        .join(PublicRecord, PublicRecord.id == RecordReply.record_id)
        .where(PublicRecord.kind == ds.kind)
    ).one()
    text = f"{SCHEMA_VERSION}|{ds.name}|{count}|{last_id}|{last_change}|{reply_count}|{last_reply}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(ds: Dataset, data: Iterator[Row] | list[Row]) -> str:
    """RFC 4180 CSV, UTF-8, a header row of the column names; empty cells are nulls."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ds.column_names)
    for row in data:
        writer.writerow([_cell(row.get(name)) for name in ds.column_names])
    return out.getvalue()


def to_json(
    ds: Dataset, data: Iterator[Row] | list[Row], generated_at: dt.datetime | None = None
) -> dict[str, Any]:
    records = list(data)
    return {
        "dataset": ds.name,
        "schema_version": SCHEMA_VERSION,
        "generated_at": (generated_at or utcnow()).astimezone(dt.UTC).isoformat(),
        "dictionary": DICTIONARY_PATH,
        "columns": ds.column_names,
        "count": len(records),
        "records": records,
    }


def render(session: Session, name: str, fmt: str, generated_at: dt.datetime | None = None) -> str:
    """The dataset ``name`` in format ``fmt`` (csv or json) as text."""
    ds = dataset(name)
    if fmt == "csv":
        return to_csv(ds, rows(session, ds))
    if fmt == "json":
        body = to_json(ds, rows(session, ds), generated_at)
        return json.dumps(body, ensure_ascii=False, indent=1) + "\n"
    raise ValueError(f"format: one of {', '.join(FORMATS)}")


def dictionary() -> dict[str, Any]:
    """The machine-readable data dictionary of every dataset."""
    return {
        "schema_version": SCHEMA_VERSION,
        "title": {"zh": "随检 双随机、一公开 开放数据", "en": "Suijian open data (one public)"},
        "formats": {
            "csv": "RFC 4180, UTF-8 without BOM, header row of column names; empty cell = null; "
            f"lists inside a cell separated by '{LIST_SEPARATOR}'",
            "json": "{dataset, schema_version, generated_at, dictionary, columns, count, records}",
        },
        "types": {
            "string": "text",
            "integer": "whole number",
            "number": "decimal number",
            "boolean": "true or false",
            "date": "YYYY-MM-DD, Asia/Shanghai calendar date",
            "datetime": "ISO 8601 instant in UTC",
        },
        "masking": [
            "inspectors: surname and '*' only; no ids or credential numbers",
            "individual businesses: the operator's name masked, also inside the business name",
            "free text: mobile, landline and resident ID numbers masked",
            "withdrawn records: only the record columns and the key remain",
        ],
        "datasets": [
            {
                "name": ds.name,
                "kind": ds.kind.value,
                "title": {"zh": ds.title_zh, "en": ds.title_en},
                "row": ds.row_en,
                "key": ds.key,
                "urls": {fmt: ds.path(fmt) for fmt in FORMATS},
                "columns": [
                    {
                        "name": column.name,
                        "type": column.type,
                        "description": {"zh": column.zh, "en": column.en},
                    }
                    for column in ds.columns
                ],
            }
            for ds in DATASETS.values()
        ],
    }


def export(session: Session, directory: Path, names: list[str] | None = None) -> list[Path]:
    """Write every dataset in every format, and the dictionary, into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    now = utcnow()
    for name in names or list(DATASETS):
        for fmt in FORMATS:
            path = directory / f"{name}.{fmt}"
            path.write_text(render(session, name, fmt, now), encoding="utf-8", newline="")
            written.append(path)
    path = directory / "dictionary.json"
    path.write_text(json.dumps(dictionary(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    written.append(path)
    return written


__all__ = [
    "DATASETS",
    "DICTIONARY_PATH",
    "FORMATS",
    "Column",
    "Dataset",
    "dataset",
    "dictionary",
    "export",
    "fingerprint",
    "render",
    "rows",
    "to_csv",
    "to_json",
]
