"""Publishing a drawn plan (一公开) and verifying the public bundle without the database.

``PublicationService.publish`` takes a plan from drawn to published and returns the bundle:
one JSON document with the plan, the commitment, the revealed seed and public value, the
algorithm version, the candidate snapshot, its hash and the result. ``verify_bundle`` re-runs
the draw from the bundle alone and names the first difference.

The bundle is built from the candidate snapshot stored with the draw (``candidate_snapshots``),
so it shows exactly what the draw saw, however the registry has changed since (new
enterprises, new ratings, the draw's own tasks adding to inspectors' workloads).

Inspectors are pseudonymised: their ids become their index in the snapshot (the snapshot is
ordered by id, so the order is kept) and nothing else about them is published. The team
pairing looks inspector ids up only through their sort order, so the draw on pseudonyms gives
the same teams; ``publish`` checks that it does before writing anything. The published
snapshot hash is the one of the pseudonymised snapshot; the database's hash (of the real ids)
is kept alongside for the record.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, with_parent

from enforcement.models import (
    Draw,
    Enterprise,
    InspectionTask,
    PlanStateError,
    PlanStatus,
    SamplingMethod,
    SamplingPlan,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit
from enforcement.services.plans import (
    PLAN_STATUS_NAMES,
    current_fields,
    plan_spec,
    require_governing_role,
)
from enforcement.services.snapshots import load_snapshot
from random_sampler import seeds
from random_sampler.allocation import TIERS, PlanSpec
from random_sampler.draw import (
    DrawResult,
    InspectorArrays,
    TargetArrays,
    TeamOptions,
    run_draw,
    snapshot_hash,
)

BUNDLE_FORMAT = "suijian-bundle/1"

# Array fields of the published snapshot with the dtype they are rebuilt with.
_TARGET_ARRAYS: dict[str, str] = {
    "target_id": "<i8",
    "stratum": "<i4",
    "stratum_tier": "u1",
    "in_business": "?",
    "months_since_last": "<f8",
    "inspections_this_year": "<i2",
    "eligible_items": "?",
    "item_department": "<i2",
    "jurisdiction": "<i4",
    "last_inspectors": "<i8",
}
_INSPECTOR_ARRAYS: dict[str, str] = {
    "inspector_id": "<i8",
    "department": "<i2",
    "jurisdiction": "<i4",
    "active": "?",
    "workload": "<i4",
    "conflict_inspector": "<i8",
    "conflict_target": "<i8",
}


class BundleError(ValueError):
    """A bundle that cannot be read (not JSON, wrong format, missing fields)."""


class PublicationService:
    """Publishes drawn plans as ``actor`` (supervisor or admin), audit-logged."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def publish(self, plan: SamplingPlan) -> dict[str, Any]:
        """drawn → published; returns the public bundle (JSON-ready).

        Raises ``PermissionDeniedError`` (role) and ``PlanStateError`` (status, or a candidate
        snapshot that no longer matches the draw). A refused publication writes nothing.
        """
        require_governing_role(self.actor, reason("publish a sampling plan"), plan.departments)
        self.session.flush()
        self.session.refresh(plan, with_for_update=True)  # concurrent publications serialise
        if plan.status is not PlanStatus.DRAWN or plan.draw is None:
            raise PlanStateError(
                reason(
                    "plan ${code} is ${status}: publishing needs status ${needed}",
                    code=plan.code,
                    status=PLAN_STATUS_NAMES[PlanStatus(plan.status)],
                    needed=PLAN_STATUS_NAMES[PlanStatus.DRAWN],
                ),
                plan.status,
                (PlanStatus.DRAWN,),
            )
        draw = plan.draw
        bundle = _bundle(self.session, plan, draw)
        now = self.clock()
        plan.status = PlanStatus.PUBLISHED
        plan.published_by = self.actor
        plan.published_at = now
        bundle["published_at"] = now.astimezone(dt.UTC).isoformat()
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "plan.publish",
            plan,
            {
                "draw_id": draw.id,
                "format": BUNDLE_FORMAT,
                "snapshot_hash": bundle["snapshot_hash"],
                "database_snapshot_hash": draw.snapshot_hash,
                "bundle_sha256": bundle_sha256(bundle),  # the full record holds the export
            },
            at=now,
        )
        return bundle


def published_bundle(session: Session, plan: SamplingPlan) -> dict[str, Any]:
    """The bundle of a published plan, rebuilt from the stored snapshot: the same document
    ``publish`` returned (anyone may fetch it; it holds no personal data)."""
    if plan.status is not PlanStatus.PUBLISHED or plan.draw is None or plan.published_at is None:
        raise PlanStateError(
            reason(
                "plan ${code} is ${status}: only a published plan has a bundle",
                code=plan.code,
                status=PLAN_STATUS_NAMES[PlanStatus(plan.status)],
            ),
            plan.status,
            (PlanStatus.PUBLISHED,),
        )
    bundle = _bundle(session, plan, plan.draw)
    bundle["published_at"] = plan.published_at.astimezone(dt.UTC).isoformat()
    return bundle


# ---------------------------------------------------------------------- building


def _bundle(session: Session, plan: SamplingPlan, draw: Draw) -> dict[str, Any]:
    seed = bytes.fromhex(plan.revealed_seed or "")
    if draw.snapshot_sha256 is None:
        raise PlanStateError(
            reason(
                "plan ${code}: its draw kept no candidate snapshot, so no bundle can be built",
                code=plan.code,
            ),
            plan.status,
        )
    snapshot = load_snapshot(session, draw.snapshot_sha256)
    targets, inspectors = snapshot.targets, snapshot.inspectors
    if snapshot_hash(targets, inspectors) != draw.snapshot_hash:
        raise PlanStateError(
            reason(
                "plan ${code}: the stored candidate snapshot does not hash to the draw's "
                "${hash}, so the bundle cannot be built",
                code=plan.code,
                hash=draw.snapshot_hash,
            ),
            plan.status,
        )
    public_inspectors = _pseudonymised(inspectors)
    spec = plan_spec(plan)
    options = TeamOptions(
        team_size=plan.team_size,
        workload_cap=plan.workload_cap,
        recuse_same_jurisdiction=plan.recuse_same_jurisdiction,
    )
    result = run_draw(
        seed=seed,
        public_value=plan.public_value,
        plan=spec,
        targets=targets,
        inspectors=public_inspectors,
        team_options=options,
    )
    _check_same_as_stored(session, plan, draw, result, inspectors.inspector_id)
    public_hash = result.report["snapshot_hash"]
    enterprises = _enterprises(session, result)
    return {
        "format": BUNDLE_FORMAT,
        "algorithm_version": seeds.ALGORITHM_VERSION,
        "plan": {
            "code": plan.code,
            "title": plan.title,
            "year": plan.year,
            "items": list(snapshot.meta["items"]),
            "jurisdictions": current_fields(plan)["jurisdictions"],
            "tier_ratios": {tier: float(plan.tier_ratios[tier]) for tier in TIERS},
            "budget": plan.budget,
            "method": SamplingMethod(plan.method).value,
            "exclude_within_months": plan.exclude_within_months,
            "annual_cap": plan.annual_cap,
            "alternates_per_stratum": plan.alternates_per_stratum,
            "strata_keys": list(plan.strata_keys),
            "team_options": options.as_dict(),
            "due_date": plan.effective_due_date.isoformat(),
        },
        "seed_commitment": plan.seed_commitment,
        "seed": seed.hex(),
        "public_value_source": plan.public_value_source,
        "public_value": plan.public_value,
        "snapshot": {
            "targets": _serialise(targets, _TARGET_ARRAYS, labels=True),
            "inspectors": _serialise(public_inspectors, _INSPECTOR_ARRAYS),
        },
        "snapshot_hash": public_hash,
        "snapshot_digests": [*targets.digests, *public_inspectors.digests],
        "database_snapshot_hash": draw.snapshot_hash,
        "result": {
            **_result(result),
            "enterprises": enterprises,
            "report": _json_ready(result.report),
        },
    }


def _pseudonymised(inspectors: InspectorArrays) -> InspectorArrays:
    """Inspector ids replaced by their index (the snapshot is ordered by id: order kept)."""
    ids = np.asarray(inspectors.inspector_id, dtype=np.int64)
    if ids.size > 1 and not (ids[1:] > ids[:-1]).all():
        raise ValueError("inspector ids must be ascending to be pseudonymised by index")
    conflicts = np.asarray(inspectors.conflict_inspector, dtype=np.int64)
    position = np.searchsorted(ids, conflicts)
    known = (position < ids.size) & (ids[np.minimum(position, max(ids.size - 1, 0))] == conflicts)
    return InspectorArrays(
        inspector_id=np.arange(ids.size, dtype=np.int64),
        department=inspectors.department,
        active=inspectors.active,
        workload=inspectors.workload,
        jurisdiction=inspectors.jurisdiction,
        # A conflict of an unknown inspector changes nothing in the draw: it is dropped.
        conflict_inspector=position[known],
        conflict_target=np.asarray(inspectors.conflict_target, dtype=np.int64)[known],
    )


def _check_same_as_stored(
    session: Session, plan: SamplingPlan, draw: Draw, result: DrawResult, inspector_id: np.ndarray
) -> None:
    """The pseudonymised re-run must give the stored draw, task for task."""
    # The draw's tasks with their teams in two queries (not one per task: thousands).
    tasks = session.scalars(
        select(InspectionTask)
        .where(with_parent(draw, Draw.tasks))
        .options(selectinload(InspectionTask.members))
        .order_by(InspectionTask.id)
    ).all()
    drawn = [t for t in tasks if not t.is_alternate]
    alternates = [t for t in tasks if t.is_alternate]
    ids = np.asarray(inspector_id, dtype=np.int64)
    expected_report = {**draw.report, "snapshot_hash": None}
    actual_report = {**_json_ready(result.report), "snapshot_hash": None}
    same = (
        [t.enterprise_id for t in drawn] == result.drawn_id.tolist()
        and [(t.enterprise_id, t.alternate_rank) for t in alternates]
        == list(
            zip(
                result.selection.alternate_id.tolist(),
                result.selection.alternate_rank.tolist(),
                strict=True,
            )
        )
        and [[m.inspector_id for m in t.members] for t in drawn]
        == [[int(ids[m]) for m in row if m >= 0] for row in result.team_member_id.tolist()]
        and _json_ready(expected_report) == actual_report
    )
    if not same:
        raise PlanStateError(
            reason(
                "plan ${code}: re-running the draw from the stored snapshot does not give "
                "the stored tasks, so the bundle cannot be built",
                code=plan.code,
            ),
            plan.status,
        )


def _enterprises(session: Session, result: DrawResult) -> dict[str, dict[str, Any]]:
    """USCC and name of every drawn target and alternate (public registry data)."""
    ids = sorted(set(result.drawn_id.tolist()) | set(result.selection.alternate_id.tolist()))
    rows = session.execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.name).where(Enterprise.id.in_(ids))
    ).all()
    return {str(row[0]): {"uscc": row[1], "name": row[2]} for row in sorted(rows)}


def _result(result: DrawResult) -> dict[str, Any]:
    selection = result.selection
    return {
        "drawn": result.drawn_id.tolist(),
        "drawn_by_coverage": selection.drawn_by_coverage.tolist(),
        "alternates": [
            {"target_id": target, "stratum": int(stratum), "rank": int(rank)}
            for target, stratum, rank in zip(
                selection.alternate_id.tolist(),
                selection.alternate_stratum.tolist(),
                selection.alternate_rank.tolist(),
                strict=True,
            )
        ],
        # One list of inspector pseudonyms per drawn target, the lead first.
        "teams": [[m for m in row if m >= 0] for row in result.team_member_id.tolist()],
    }


def _serialise(arrays: Any, fields: Mapping[str, str], *, labels: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if labels:
        out["stratum_labels"] = list(arrays.stratum_labels)
    for name in fields:
        value = getattr(arrays, name)
        out[name] = None if value is None else _listed(np.asarray(value))
    return out


def _listed(array: np.ndarray) -> list[Any]:
    # ``tolist`` already gives plain ints and bools; only floats need a pass (NaN to null),
    # and a second copy of a province's arrays is what this spares.
    values = array.tolist()
    return _json_ready(values) if array.dtype.kind == "f" else values


def _json_ready(value: Any) -> Any:
    """Plain JSON values; NaN (never inspected) becomes null."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return _json_ready(value.item())
    return value


# ---------------------------------------------------------------------- files


def bundle_sha256(bundle: Mapping[str, Any]) -> str:
    """SHA-256 of the bundle's canonical JSON (sorted keys, no spaces, UTF-8): the same for
    the plain and the gzip file, recorded in the audit log when the plan is published.

    The text is hashed in pieces (an object's members one by one, each array whole), so a
    province's bundle is never held as one text; the bytes are those of ``json.dumps(bundle,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    digest = hashlib.sha256()
    for piece in _canonical_pieces(bundle):
        digest.update(piece.encode("utf-8"))
    return digest.hexdigest()


def write_bundle(bundle: Mapping[str, Any], path: Path) -> None:
    """Write ``bundle`` as UTF-8 JSON: an object's members one a line, indented, and every
    array on one line; gzip for ``*.gz`` (reproducible: no name, no time; level 6, six times
    faster than 9 for 3 % more bytes). Written in pieces, like the hash: the C encoder does
    each array, and no text of the whole bundle is built."""
    with path.open("wb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6
            ) as packed:
                _write_pieces(packed, bundle)
        else:
            _write_pieces(raw, bundle)


def _write_pieces(out: Any, bundle: Mapping[str, Any]) -> None:
    for piece in _laid_out_pieces(bundle, 0):
        out.write(piece.encode("utf-8"))
    out.write(b"\n")


# Both encoders run in C (no indent); they refuse NaN like the bundle's readers would.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _walked(value: Any) -> bool:
    # Objects with text keys are walked member by member; anything else is encoded whole
    # (the encoder turns other keys into text, which would change how they sort).
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


def _canonical_pieces(value: Any) -> Iterator[str]:
    if not _walked(value):
        yield _CANONICAL.encode(value)
        return
    yield "{"
    for index, key in enumerate(sorted(value)):
        yield ("," if index else "") + _CANONICAL.encode(key) + ":"
        yield from _canonical_pieces(value[key])
    yield "}"


def _laid_out_pieces(value: Any, depth: int) -> Iterator[str]:
    if not _walked(value) or not value:
        yield _COMPACT.encode(value)
        return
    indent = "\n" + " " * (depth + 1)
    yield "{"
    for index, key in enumerate(value):
        yield ("," if index else "") + indent + _COMPACT.encode(key) + ": "
        yield from _laid_out_pieces(value[key], depth + 1)
    yield "\n" + " " * depth + "}"


def read_bundle(path: Path) -> dict[str, Any]:
    """A bundle file (plain or gzip JSON); ``BundleError`` when it cannot be read."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        bundle = orjson.loads(data)  # a province's bundle: faster and leaner than json
    except (OSError, EOFError, ValueError) as exc:  # orjson's errors are ValueErrors
        raise BundleError(f"{path}: not a readable bundle ({exc})") from exc
    if not isinstance(bundle, dict):
        raise BundleError(f"{path}: not a readable bundle (expected a JSON object)")
    return bundle


# ---------------------------------------------------------------------- verification


def verify_bundle(bundle: Mapping[str, Any]) -> str | None:
    """Re-run the draw from ``bundle`` alone; None when it checks out, else the first
    difference (e.g. "drawn target #12 differs: 4711 != 4712", bundle value first)."""
    try:
        return _verify(bundle)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return reason("bundle is malformed: ${error}", error=f"{type(exc).__name__}: {exc}")


def _verify(bundle: Mapping[str, Any]) -> str | None:
    if bundle.get("format") != BUNDLE_FORMAT:
        return reason(
            "format differs: ${bundle} != ${rerun}",
            bundle=repr(bundle.get("format")),
            rerun=repr(BUNDLE_FORMAT),
        )
    if bundle.get("algorithm_version") != seeds.ALGORITHM_VERSION:
        return reason(
            "algorithm version differs: ${bundle} != ${rerun}",
            bundle=repr(bundle.get("algorithm_version")),
            rerun=repr(seeds.ALGORITHM_VERSION),
        )
    seed = bytes.fromhex(bundle["seed"])
    if not seeds.verify_commitment(seed, bundle["seed_commitment"]):
        return reason(
            "seed does not match the commitment: sha256(seed) = ${digest}",
            digest=seeds.commit(seed),
        )

    plan = bundle["plan"]
    targets, inspectors = snapshot_arrays(bundle)
    recomputed = snapshot_hash(targets, inspectors)
    if recomputed != bundle["snapshot_hash"]:
        digests = [*targets.digests, *inspectors.digests]
        for stored, line in zip(bundle.get("snapshot_digests") or [], digests, strict=False):
            if stored != line:
                return reason("snapshot hash differs: field ${field}", field=line.split(":", 1)[0])
        return reason(
            "snapshot hash differs: ${bundle} != ${rerun}",
            bundle=bundle["snapshot_hash"],
            rerun=recomputed,
        )

    spec = PlanSpec(
        tier_ratio=tuple(float(plan["tier_ratios"][tier]) for tier in TIERS),  # type: ignore[arg-type]
        budget=plan["budget"],
        method=plan["method"],
        exclude_within_months=plan["exclude_within_months"],
        annual_cap=plan["annual_cap"],
        alternates_per_stratum=plan["alternates_per_stratum"],
    )
    result = run_draw(
        seed=seed,
        public_value=bundle["public_value"],
        plan=spec,
        targets=targets,
        inspectors=inspectors,
        team_options=plan["team_options"],
    )
    return _first_difference(bundle["result"], _result(result), _json_ready(result.report))


def _first_difference(
    stored: Mapping[str, Any], computed: Mapping[str, Any], report: Any
) -> str | None:
    for key, what in (
        ("drawn", reason("drawn target")),
        ("drawn_by_coverage", reason("coverage flag of drawn target")),
        ("alternates", reason("alternate")),
        ("teams", reason("team of drawn target")),
    ):
        mine, theirs = stored[key], computed[key]
        if len(mine) != len(theirs):
            return reason(
                "number of entries differs (${what}): ${bundle} != ${rerun}",
                what=what,
                bundle=len(mine),
                rerun=len(theirs),
            )
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True), start=1):
            if a != b:
                return reason(
                    "${what} #${index} differs: ${bundle} != ${rerun}",
                    what=what,
                    index=i,
                    bundle=_show(a),
                    rerun=_show(b),
                )
    return _report_difference("report", stored["report"], report)


def _report_difference(path: str, a: Any, b: Any) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                if key in a:
                    return reason("${path} differs: only in the bundle", path=f"{path}.{key}")
                return reason("${path} differs: only in the rerun", path=f"{path}.{key}")
            found = _report_difference(f"{path}.{key}", a[key], b[key])
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _report_difference(f"{path}[{i}]", x, y)
            if found:
                return found
        return None
    if a == b:
        return None
    return reason(
        "${path} differs: ${bundle} != ${rerun}", path=path, bundle=_show(a), rerun=_show(b)
    )


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _array(values: Mapping[str, Any], name: str, dtype: str) -> np.ndarray | None:
    value = values.get(name)
    if value is None:
        return None
    if dtype == "<f8":  # null is NaN: never inspected
        return np.array(
            [np.nan if v is None else v for v in value] if value else [], dtype=np.float64
        )
    return np.array(value, dtype=dtype)


def snapshot_arrays(bundle: Mapping[str, Any]) -> tuple[TargetArrays, InspectorArrays]:
    """The draw's input arrays rebuilt from a bundle's published snapshot."""
    snapshot = bundle["snapshot"]
    return _targets(snapshot["targets"]), _inspectors(snapshot["inspectors"])


def _targets(values: Mapping[str, Any]) -> TargetArrays:
    arrays = {name: _array(values, name, dtype) for name, dtype in _TARGET_ARRAYS.items()}
    n = 0 if arrays["target_id"] is None else arrays["target_id"].shape[0]
    items = 0 if arrays["item_department"] is None else arrays["item_department"].shape[0]
    if arrays["eligible_items"] is not None and arrays["eligible_items"].size == 0:
        arrays["eligible_items"] = np.zeros((n, items), dtype=bool)
    return TargetArrays(stratum_labels=tuple(values["stratum_labels"]), **arrays)  # type: ignore[arg-type]


def _inspectors(values: Mapping[str, Any]) -> InspectorArrays:
    arrays = {name: _array(values, name, dtype) for name, dtype in _INSPECTOR_ARRAYS.items()}
    for name in ("conflict_inspector", "conflict_target"):
        if arrays[name] is None:
            arrays[name] = np.zeros(0, np.int64)
    return InspectorArrays(**arrays)  # type: ignore[arg-type]


__all__ = [
    "BUNDLE_FORMAT",
    "BundleError",
    "PublicationService",
    "bundle_sha256",
    "published_bundle",
    "read_bundle",
    "snapshot_arrays",
    "verify_bundle",
    "write_bundle",
]
