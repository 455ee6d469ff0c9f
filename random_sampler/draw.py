"""The whole draw: select targets, pair teams, report. Also the parts of a distributed draw.

``run_draw`` derives the draw key from the secret seed and the optional public value, selects
the targets (``select.draw_targets``), pairs teams with the "teams" generator
(``teams.assign_teams``) and builds a JSON-ready report.

A distributed draw computes the same result in pieces: ``draw_allocation`` once, then
``draw_targets(strata=..., allocation=...)`` for groups of strata, on the full arrays or on
the rows of those strata only (``strata_rows`` + ``TargetArrays.take``), then ``merge_strata``
(which also covers the items) and ``finish_draw``. The result is bit-identical to ``run_draw``
because every stratum has its own generator and the global steps (allocation, coverage,
teams) run once on the merged arrays.

Snapshot hash (``snapshot_hash``, format ``suijian-snapshot/1``): a fingerprint of every
candidate input, so that a changed candidate list changes it. Each field is put in canonical
form -- the fixed little-endian dtypes of ``TARGET_FIELDS`` / ``INSPECTOR_FIELDS`` (ids int64,
codes int32/int16, flags uint8 0/1, months float64 with a single NaN bit pattern), C order;
declared conflicts as (target id, inspector id) rows sorted and deduplicated; stratum labels as
their compact JSON list (UTF-8, no ASCII escapes) -- and hashed on its own. The snapshot hash
is the SHA-256 of ``"suijian-snapshot/1\\n"`` followed by one line per field,
``targets.<name>:<numpy dtype str>:<shape, x-separated>:<sha256 hex>\\n`` (``"json"`` and the
label count for the labels; ``targets.<name>:absent\\n`` for a missing optional field), targets
then inspectors, in table order. Per-field digests let a verifier name the field that differs.

``TargetArrays`` and ``InspectorArrays`` are immutable snapshots: they hold read-only views
and compute their digests once. ``run_draw`` hashes on a background thread while it draws
(hashlib releases the GIL), so on two cores the hash of a large snapshot costs little wall time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from random_sampler import seeds
from random_sampler.allocation import TIERS, Allocation, PlanSpec, allocate, check_strata
from random_sampler.select import (
    ANNUAL_CAP,
    EXCLUSION_TEXT,
    INSPECTED_RECENTLY,
    ITEM_COVERAGE_TEXT,
    ITEM_NOT_EVALUATED,
    NO_ITEM,
    NOT_EXCLUDED,
    NOT_IN_BUSINESS,
    Selection,
    cover_items,
    draw_targets,
    exclusions,
    ranks_within,
    required_departments_of,
)
from random_sampler.teams import (
    BLOCKED_NO_DEPARTMENT,
    BLOCKED_NONE,
    BLOCKED_RECUSED,
    BLOCKED_TEAM_SIZE,
    BLOCKED_WORKLOAD,
    MAX_DEPARTMENTS,
    REASONS,
    Teams,
    assign_teams,
)

SNAPSHOT_VERSION = "suijian-snapshot/1"
_HASH_CHUNK_BYTES = 1 << 20

# Report keys of the exclusion and blocking codes.
EXCLUSION_KEYS = {
    NOT_IN_BUSINESS: "not_in_business",
    INSPECTED_RECENTLY: "inspected_recently",
    ANNUAL_CAP: "annual_cap",
    NO_ITEM: "no_item",
}
BLOCKED_KEYS = {
    BLOCKED_NO_DEPARTMENT: "no_department",
    BLOCKED_RECUSED: "recused",
    BLOCKED_WORKLOAD: "workload",
    BLOCKED_TEAM_SIZE: "team_size",
}

# (field, canonical dtype) in hashing order; bools hash as their 0/1 bytes.
TARGET_FIELDS: tuple[tuple[str, str], ...] = (
    ("target_id", "<i8"),
    ("stratum", "<i4"),
    ("stratum_labels", "json"),
    ("stratum_tier", "u1"),
    ("in_business", "u1"),
    ("months_since_last", "<f8"),
    ("inspections_this_year", "<i2"),
    ("eligible_items", "u1"),
    ("item_department", "<i2"),
    ("jurisdiction", "<i4"),
    ("last_inspectors", "<i8"),
)
INSPECTOR_FIELDS: tuple[tuple[str, str], ...] = (
    ("inspector_id", "<i8"),
    ("department", "<i2"),
    ("jurisdiction", "<i4"),
    ("active", "u1"),
    ("workload", "<i4"),
    ("conflicts", "<i8"),
)


def _frozen(value: object, name: str) -> np.ndarray:
    """A read-only view of ``value`` as an array (the caller's array is left as it is)."""
    array = np.asarray(value)
    if array.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got objects")
    if array.dtype.kind not in "biuf":  # strings, dates...: refused here, by name
        raise ValueError(f"{name} must be a numeric array, got {array.dtype}")
    # Only months_since_last may hold NaN (never inspected); ids, codes and counts are whole.
    if (
        array.dtype.kind == "f"
        and name != "months_since_last"
        and not (np.isfinite(array).all() and (array == np.round(array)).all())
    ):
        raise ValueError(f"{name} must hold whole numbers (no NaN or infinity)")
    view = array.view()
    view.flags.writeable = False
    return view


def _count(array: np.ndarray, name: str) -> int:
    """The length of a 1-D array that sets the size of the others."""
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}")
    return int(array.shape[0])


def _length(array: np.ndarray, name: str, n: int, ndim: int = 1) -> None:
    if array.ndim != ndim or array.shape[0] != n:
        shape = f"({n},)" if ndim == 1 else f"({n}, …)"
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")


def _digest(name: str, value: Any, dtype: str) -> str:
    """One line of the snapshot hash: name, canonical dtype, shape and SHA-256 of the bytes."""
    if value is None:
        return f"{name}:absent\n"
    if dtype == "json":
        data = json.dumps(list(value), ensure_ascii=False, separators=(",", ":")).encode()
        return f"{name}:json:{len(value)}:{hashlib.sha256(data).hexdigest()}\n"
    array = np.asarray(value)
    canonical = np.dtype(dtype)
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype == np.bool_ and canonical == np.uint8:
        flat = flat.view(np.uint8)  # bools are stored as 0/1 bytes already
    digest = hashlib.sha256()
    if flat.dtype == canonical and canonical.kind != "f":
        digest.update(flat)  # already canonical: one call, and hashlib releases the GIL
    else:
        # Cache-sized chunks: conversions stay in cache and no full-size copy is made.
        step = max(1, _HASH_CHUNK_BYTES // canonical.itemsize)
        for begin in range(0, flat.shape[0], step):
            chunk = flat[begin : begin + step].astype(canonical, copy=False)
            if canonical.kind == "f":
                nan = np.isnan(chunk)
                if nan.any():  # one bit pattern for "never inspected"
                    chunk = np.where(nan, np.nan, chunk).astype(canonical, copy=False)
            digest.update(chunk)
    shape = "x".join(str(d) for d in array.shape)
    return f"{name}:{canonical.str}:{shape}:{digest.hexdigest()}\n"


class _Snapshot:
    """Per-field digests of a frozen snapshot, computed once, optionally on another thread.

    SHA-256 in hashlib releases the GIL, so hashing half a gigabyte overlaps the draw on a
    second core instead of adding to it.
    """

    def _compute_digests(self) -> tuple[str, ...]:
        raise NotImplementedError

    def hash_in_background(self) -> None:
        """Start computing ``digests`` on a background thread (no-op when done or running)."""
        with _DIGEST_LOCK:
            if "_digests" in self.__dict__ or "_digest_thread" in self.__dict__:
                return
            thread = threading.Thread(target=self._fill_digests, name="snapshot-hash", daemon=True)
            thread.start()
            self.__dict__["_digest_thread"] = thread  # frozen dataclass: no __setattr__

    def _fill_digests(self) -> None:
        try:
            self.__dict__["_digests"] = self._compute_digests()
        except Exception as exc:  # re-raised by ``digests`` in the caller's thread
            self.__dict__["_digests"] = exc

    @property
    def digests(self) -> tuple[str, ...]:
        """The snapshot-hash lines of these fields (computed once)."""
        thread = self.__dict__.get("_digest_thread")
        if thread is not None:
            thread.join()
        value = self.__dict__.get("_digests")
        if value is None:
            value = self.__dict__["_digests"] = self._compute_digests()
        if isinstance(value, Exception):
            raise value
        return value


_DIGEST_LOCK = threading.Lock()


@dataclass(frozen=True, kw_only=True, eq=False)
class TargetArrays(_Snapshot):
    """The candidate targets of a draw, N of them, in snapshot order.

    ``stratum`` int[N] codes into ``stratum_labels`` (S canonical labels) and
    ``stratum_tier`` uint8[S] (0..3 = A..D); ``in_business`` bool[N]; ``months_since_last``
    float[N] (NaN = never inspected); ``inspections_this_year`` int[N]; ``eligible_items``
    bool[N, K] and ``item_department`` int[K]; ``jurisdiction`` int[N] (needed for
    same-jurisdiction recusal); ``last_inspectors`` int64[N, L] inspector ids, -1 padded.
    """

    target_id: np.ndarray
    stratum: np.ndarray
    stratum_labels: tuple[str, ...]
    stratum_tier: np.ndarray
    in_business: np.ndarray
    months_since_last: np.ndarray
    inspections_this_year: np.ndarray
    eligible_items: np.ndarray
    item_department: np.ndarray
    jurisdiction: np.ndarray | None = None
    last_inspectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        labels = tuple(self.stratum_labels)
        object.__setattr__(self, "stratum_labels", labels)
        for name, _ in TARGET_FIELDS:
            value = getattr(self, name)
            if name != "stratum_labels" and value is not None:
                object.__setattr__(self, name, _frozen(value, name))
        n = _count(self.target_id, "target_id")
        for name in ("stratum", "in_business", "months_since_last", "inspections_this_year"):
            _length(getattr(self, name), name, n)
        _length(self.eligible_items, "eligible_items", n, ndim=2)
        if self.jurisdiction is not None:
            _length(self.jurisdiction, "jurisdiction", n)
        if self.last_inspectors is not None:
            _length(self.last_inspectors, "last_inspectors", n, ndim=2)
        check_strata(labels, self.stratum_tier)

    def __len__(self) -> int:
        return int(self.target_id.shape[0])

    def selection_arrays(self) -> dict[str, Any]:
        """The keyword arguments of ``select.draw_targets`` for these targets."""
        return {
            name: getattr(self, name)
            for name in (
                "target_id",
                "stratum",
                "stratum_labels",
                "stratum_tier",
                "in_business",
                "months_since_last",
                "inspections_this_year",
                "eligible_items",
                "item_department",
            )
        }

    def take(self, rows: np.ndarray) -> TargetArrays:
        """The targets at ``rows`` (ascending keeps the snapshot order); strata and items stay."""
        per_target = {
            name: None if getattr(self, name) is None else np.take(getattr(self, name), rows, 0)
            for name in (
                "target_id",
                "stratum",
                "in_business",
                "months_since_last",
                "inspections_this_year",
                "eligible_items",
                "jurisdiction",
                "last_inspectors",
            )
        }
        return TargetArrays(
            stratum_labels=self.stratum_labels,
            stratum_tier=self.stratum_tier,
            item_department=self.item_department,
            **per_target,
        )

    def _compute_digests(self) -> tuple[str, ...]:
        return tuple(
            _digest(f"targets.{name}", getattr(self, name), dtype) for name, dtype in TARGET_FIELDS
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class InspectorArrays(_Snapshot):
    """The inspectors, M of them: ``inspector_id`` int64[M] (unique, >= 0), ``department``
    int[M] (0..D-1), ``active`` bool[M], ``workload`` int[M] (open tasks), ``jurisdiction``
    int[M] (needed for same-jurisdiction recusal), and declared conflicts as id pairs
    (``conflict_inspector[c]``, ``conflict_target[c]``)."""

    inspector_id: np.ndarray
    department: np.ndarray
    active: np.ndarray
    workload: np.ndarray
    jurisdiction: np.ndarray | None = None
    conflict_inspector: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    conflict_target: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        for name in (
            "inspector_id",
            "department",
            "active",
            "workload",
            "jurisdiction",
            "conflict_inspector",
            "conflict_target",
        ):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value, name))
        m = _count(self.inspector_id, "inspector_id")
        for name in ("department", "active", "workload"):
            _length(getattr(self, name), name, m)
        if self.jurisdiction is not None:
            _length(self.jurisdiction, "jurisdiction", m)
        c = _count(self.conflict_inspector, "conflict_inspector")
        _length(self.conflict_target, "conflict_target", c)

    def __len__(self) -> int:
        return int(self.inspector_id.shape[0])

    def _compute_digests(self) -> tuple[str, ...]:
        pairs = np.stack(
            [self.conflict_target.astype(np.int64), self.conflict_inspector.astype(np.int64)],
            axis=1,
        )
        pairs = np.unique(pairs, axis=0) if pairs.size else pairs.reshape(0, 2)
        values = {name: getattr(self, name) for name, _ in INSPECTOR_FIELDS[:-1]}
        values["conflicts"] = pairs
        return tuple(
            _digest(f"inspectors.{name}", values[name], dtype) for name, dtype in INSPECTOR_FIELDS
        )


@dataclass(frozen=True)
class TeamOptions:
    """How teams are formed: ``team_size`` >= 2 officers (行政处罚法 art. 42),
    ``workload_cap`` (None = no cap) on each officer's open tasks, and whether an officer may
    not inspect a target of their own jurisdiction."""

    team_size: int = 2
    workload_cap: int | None = None
    recuse_same_jurisdiction: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.team_size, bool) or not isinstance(self.team_size, int | np.integer):
            raise ValueError(f"team_options.team_size must be a whole number: {self.team_size!r}")
        if self.team_size < 2:
            raise ValueError(
                "team_options.team_size must be at least 2 (行政处罚法 art. 42), "
                f"got {self.team_size}"
            )
        cap = self.workload_cap
        if cap is not None and (
            isinstance(cap, bool) or not isinstance(cap, int | np.integer) or cap < 0
        ):
            raise ValueError(f"team_options.workload_cap must be None or >= 0, got {cap!r}")
        object.__setattr__(self, "team_size", int(self.team_size))
        object.__setattr__(self, "workload_cap", None if cap is None else int(cap))
        object.__setattr__(self, "recuse_same_jurisdiction", bool(self.recuse_same_jurisdiction))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class DrawResult:
    """The drawn targets (``selection``), their teams (``teams``; ``team_member_id`` holds
    inspector ids, -1 padded), and the JSON-ready ``report``. ``timings`` (seconds per step)
    is not part of the result: two equal draws differ only there."""

    selection: Selection
    teams: Teams
    team_member_id: np.ndarray
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def drawn_id(self) -> np.ndarray:
        return self.selection.drawn_id


def snapshot_hash(targets: TargetArrays, inspectors: InspectorArrays) -> str:
    """SHA-256 (hex) of the canonical candidate snapshot (see the module docstring)."""
    text = SNAPSHOT_VERSION + "\n" + "".join(targets.digests) + "".join(inspectors.digests)
    return hashlib.sha256(text.encode()).hexdigest()


def as_team_options(value: TeamOptions | Mapping[str, Any] | None) -> TeamOptions:
    """``TeamOptions`` from itself, a mapping of its fields, or None (the defaults)."""
    if value is None:
        return TeamOptions()
    if isinstance(value, TeamOptions):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"team_size", "workload_cap", "recuse_same_jurisdiction"}
        if unknown:
            raise ValueError(f"team_options: unknown option(s) {sorted(unknown)}")
        return TeamOptions(**value)
    raise ValueError(f"team_options must be TeamOptions or a mapping, got {type(value).__name__}")


# --------------------------------------------------------------------------- the draw


def run_draw(
    *,
    seed: bytes,
    public_value: str | None,
    plan: PlanSpec,
    targets: TargetArrays,
    inspectors: InspectorArrays,
    team_options: TeamOptions | Mapping[str, Any] | None = None,
) -> DrawResult:
    """Select the targets, pair the teams and report, all in this process."""
    options = as_team_options(team_options)  # bad options fail before any work
    key = seeds.draw_key(seed, public_value)
    started = time.perf_counter()
    targets.hash_in_background()
    inspectors.hash_in_background()
    selection = draw_targets(key=key, plan=plan, **targets.selection_arrays())
    selected = time.perf_counter()
    return finish_draw(
        seed=seed,
        public_value=public_value,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        team_options=options,
        selection=selection,
        timings={"selection": selected - started},
    )


def finish_draw(
    *,
    seed: bytes,
    public_value: str | None,
    plan: PlanSpec,
    targets: TargetArrays,
    inspectors: InspectorArrays,
    team_options: TeamOptions | Mapping[str, Any] | None,
    selection: Selection,
    timings: dict[str, float] | None = None,
) -> DrawResult:
    """Pair teams for a complete selection (one-process or merged) and build the report.

    ``timings["report"]`` includes waiting for the snapshot hash when it is still running.
    """
    options = as_team_options(team_options)
    key = seeds.draw_key(seed, public_value)
    timings = dict(timings or {})
    started = time.perf_counter()
    targets.hash_in_background()
    inspectors.hash_in_background()
    teams = pair_teams(
        key=key, selection=selection, targets=targets, inspectors=inspectors, options=options
    )
    paired = time.perf_counter()
    member_id = teams.member_ids(inspectors.inspector_id)
    report = build_report(
        seed=seed,
        public_value=public_value,
        plan=plan,
        targets=targets,
        inspectors=inspectors,
        options=options,
        selection=selection,
        teams=teams,
    )
    timings["pairing"] = paired - started
    timings["report"] = time.perf_counter() - paired
    return DrawResult(
        selection=selection, teams=teams, team_member_id=member_id, report=report, timings=timings
    )


def pair_teams(
    *,
    key: bytes,
    selection: Selection,
    targets: TargetArrays,
    inspectors: InspectorArrays,
    options: TeamOptions,
) -> Teams:
    """Teams for the drawn targets, from the draw's "teams" generator."""
    drawn = selection.drawn
    required = selection.required_departments
    n_departments = max(required.shape[1], int(inspectors.department.max(initial=-1)) + 1)
    if n_departments > MAX_DEPARTMENTS:
        raise ValueError(f"at most {MAX_DEPARTMENTS} departments, got {n_departments}")
    if required.shape[1] < n_departments:  # departments with officers but no item in the plan
        padded = np.zeros((required.shape[0], n_departments), dtype=bool)
        padded[:, : required.shape[1]] = required
        required = padded
    if options.recuse_same_jurisdiction:
        if targets.jurisdiction is None:
            raise ValueError("targets.jurisdiction is required for same-jurisdiction recusal")
        if inspectors.jurisdiction is None:
            raise ValueError("inspectors.jurisdiction is required for same-jurisdiction recusal")
    target_jurisdiction = None
    if options.recuse_same_jurisdiction and targets.jurisdiction is not None:
        target_jurisdiction = np.take(targets.jurisdiction, drawn)
    last = None
    if targets.last_inspectors is not None:
        last = np.take(targets.last_inspectors, drawn, axis=0)
    return assign_teams(
        target_id=selection.drawn_id,
        required_departments=required,
        inspector_id=inspectors.inspector_id,
        department=inspectors.department,
        active=inspectors.active,
        workload=inspectors.workload,
        rng=seeds.generator(seeds.stratum_seed(key, seeds.TEAMS_LABEL)),
        target_jurisdiction=target_jurisdiction,
        jurisdiction=inspectors.jurisdiction if options.recuse_same_jurisdiction else None,
        last_inspectors=last,
        conflict_inspector=inspectors.conflict_inspector,
        conflict_target=inspectors.conflict_target,
        team_size=options.team_size,
        workload_cap=options.workload_cap,
        recuse_same_jurisdiction=options.recuse_same_jurisdiction,
    )


# --------------------------------------------------------------------------- distributed


def draw_allocation(*, key: bytes, plan: PlanSpec, targets: TargetArrays) -> Allocation:
    """The allocation of the whole draw (what every part of a distributed draw needs)."""
    reason = exclusions(
        targets.stratum,
        targets.stratum_tier,
        targets.in_business,
        targets.months_since_last,
        targets.inspections_this_year,
        targets.eligible_items,
        plan,
    )
    size = _candidates_per_stratum(targets, reason)
    return allocate(size, targets.stratum_tier, targets.stratum_labels, plan, key)


def strata_rows(targets: TargetArrays, strata: Sequence[int] | np.ndarray) -> np.ndarray:
    """Ascending indices of the targets in ``strata`` (the rows a part of the draw needs)."""
    wanted = np.zeros(len(targets.stratum_labels), dtype=bool)
    wanted[np.asarray(strata, dtype=np.int64)] = True
    return np.flatnonzero(wanted[targets.stratum])


def merge_strata(
    parts: Sequence[Selection],
    *,
    key: bytes,
    plan: PlanSpec,
    targets: TargetArrays,
    rows: Sequence[np.ndarray | None] | None = None,
) -> Selection:
    """Merge parts drawn with ``draw_targets(strata=..., allocation=...)`` into the selection
    of the whole draw, then cover the items, exactly as the one-process draw does.

    Every stratum must be computed by exactly one part, all with the same allocation.
    ``rows[i]`` gives the (ascending) target indices of part i's arrays when it was drawn on
    ``targets.take(rows[i])``; None means the part was drawn on the full arrays.
    """
    if not parts:
        raise ValueError("merge_strata needs at least one part")
    rows = list(rows) if rows is not None else [None] * len(parts)
    if len(rows) != len(parts):
        raise ValueError(f"rows has {len(rows)} entries for {len(parts)} parts")
    n_strata = len(targets.stratum_labels)
    allocation = parts[0].allocation
    owner = np.full(n_strata, -1, dtype=np.int64)
    for i, part in enumerate(parts):
        if (part.item_coverage != ITEM_NOT_EVALUATED).any():
            raise ValueError(f"part {i} covered items itself: draw parts with strata=...")
        if part.allocation is not allocation and not _same_allocation(part.allocation, allocation):
            raise ValueError(f"part {i} was drawn with another allocation")
        twice = part.computed_strata[owner[part.computed_strata] >= 0]
        if twice.size:
            raise ValueError(f"stratum {targets.stratum_labels[twice[0]]!r} is in two parts")
        owner[part.computed_strata] = i
    if (owner < 0).any():
        missing = targets.stratum_labels[int(np.argmax(owner < 0))]
        raise ValueError(f"stratum {missing!r} is in no part")

    def global_index(i: int, local: np.ndarray) -> np.ndarray:
        return local if rows[i] is None else np.asarray(rows[i], dtype=np.int64)[local]

    sample, sample_stratum = _by_stratum(
        [global_index(i, p.drawn) for i, p in enumerate(parts)],
        [p.drawn_stratum for p in parts],
    )
    alternates, alternate_stratum = _by_stratum(
        [global_index(i, p.alternates) for i, p in enumerate(parts)],
        [p.alternate_stratum for p in parts],
    )

    reason = exclusions(
        targets.stratum,
        targets.stratum_tier,
        targets.in_business,
        targets.months_since_last,
        targets.inspections_this_year,
        targets.eligible_items,
        plan,
    )
    candidate = reason == NOT_EXCLUDED
    code_type = np.uint16 if n_strata < np.iinfo(np.uint16).max else np.int32
    codes = targets.stratum.astype(code_type)
    codes[~candidate] = n_strata
    size = np.bincount(codes, minlength=n_strata + 1)[:n_strata].astype(np.int64)
    if not np.array_equal(size, allocation.stratum_size):
        raise ValueError("the allocation's stratum sizes do not match these targets")

    eligible = targets.eligible_items
    sample_items = np.take(eligible, sample, axis=0)
    coverage = cover_items(eligible, candidate, sample, key, sample_items)
    if coverage.added.size:
        keep = ~np.isin(alternates, coverage.added)
        alternates, alternate_stratum = alternates[keep], alternate_stratum[keep]
    drawn = np.concatenate([sample, coverage.added])
    added_stratum = np.take(targets.stratum, coverage.added).astype(np.int32)
    by_coverage = np.zeros(drawn.shape[0], dtype=bool)
    by_coverage[sample.shape[0] :] = True
    items = np.concatenate([sample_items, np.take(eligible, coverage.added, axis=0)])
    return Selection(
        drawn=drawn,
        drawn_stratum=np.concatenate([sample_stratum, added_stratum]),
        drawn_id=np.take(targets.target_id, drawn).astype(np.int64, copy=False),
        drawn_by_coverage=by_coverage,
        candidate_stratum=codes,
        excluded_reason=reason,
        alternates=alternates,
        alternate_stratum=alternate_stratum,
        alternate_rank=ranks_within(alternate_stratum),
        alternate_id=np.take(targets.target_id, alternates).astype(np.int64, copy=False),
        stratum_size=size,
        stratum_probability=allocation.ratio,
        stratum_expected=allocation.expected,
        stratum_allocation=np.sum([p.stratum_allocation for p in parts], axis=0, dtype=np.int64),
        computed_strata=np.arange(n_strata, dtype=np.int64),
        coverage_added=coverage.added,
        coverage_item=coverage.added_item,
        item_coverage=coverage.item_status,
        items_for_target=items,
        required_departments=required_departments_of(items, np.asarray(targets.item_department)),
        allocation=allocation,
    )


def _by_stratum(indices: list[np.ndarray], strata: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Concatenate the parts' lists and order them by stratum, keeping each stratum's order."""
    index = np.concatenate([np.zeros(0, np.int64), *[np.asarray(a, np.int64) for a in indices]])
    stratum = np.concatenate([np.zeros(0, np.int32), *[np.asarray(a, np.int32) for a in strata]])
    order = np.argsort(stratum, kind="stable")
    return index[order], stratum[order]


def _same_allocation(a: Allocation, b: Allocation) -> bool:
    def same(x: object, y: object) -> bool:
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            return x is not None and y is not None and np.array_equal(x, y)  # type: ignore[arg-type]
        return x == y

    return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)


def _candidates_per_stratum(targets: TargetArrays, reason: np.ndarray) -> np.ndarray:
    n_strata = len(targets.stratum_labels)
    return np.bincount(targets.stratum[reason == NOT_EXCLUDED], minlength=n_strata)[:n_strata]


# --------------------------------------------------------------------------- report


def _texts(table: Mapping[int, tuple[str, str]], code: int) -> dict[str, str]:
    english, chinese = table[code]
    return {"en": english, "zh": chinese}


def build_report(
    *,
    seed: bytes,
    public_value: str | None,
    plan: PlanSpec,
    targets: TargetArrays,
    inspectors: InspectorArrays,
    options: TeamOptions,
    selection: Selection,
    teams: Teams,
) -> dict[str, Any]:
    """The draw's report as plain JSON values (deterministic: no clock, no host)."""
    n_strata = len(targets.stratum_labels)
    allocation = selection.allocation

    # Exclusions per stratum: only the excluded targets are touched.
    reason = selection.excluded_reason
    excluded = np.flatnonzero(reason != NOT_EXCLUDED)  # 5x faster than nonzero() on int8
    width = max(max(EXCLUSION_KEYS), int(reason.max(initial=0))) + 1
    per_stratum = np.bincount(
        np.take(targets.stratum, excluded).astype(np.int64) * width + reason[excluded],
        minlength=n_strata * width,
    ).reshape(n_strata, width)
    exclusion_total = per_stratum.sum(axis=0)

    drawn_per = np.bincount(selection.drawn_stratum, minlength=n_strata)
    added_per = np.bincount(
        selection.drawn_stratum[selection.drawn_by_coverage], minlength=n_strata
    )
    alternates_per = np.bincount(selection.alternate_stratum, minlength=n_strata)
    candidates = selection.stratum_size
    expected = selection.stratum_expected
    strata = [
        {
            "stratum": h,
            "label": targets.stratum_labels[h],
            "tier": TIERS[int(targets.stratum_tier[h])],
            "targets": int(candidates[h] + per_stratum[h].sum()),
            "candidates": int(candidates[h]),
            "excluded": {key: int(per_stratum[h, code]) for code, key in EXCLUSION_KEYS.items()},
            "inclusion_probability": float(selection.stratum_probability[h]),
            "expected": float(expected[h]),
            "allocation": int(selection.stratum_allocation[h]),
            "drawn": int(drawn_per[h]),
            "added_for_coverage": int(added_per[h]),
            "alternates": int(alternates_per[h]),
        }
        for h in range(n_strata)
    ]

    checklist = selection.items_for_target
    items_drawn = [np.count_nonzero(checklist[:, k]) for k in range(checklist.shape[1])]
    added_for = {
        int(i): int(t)
        for i, t in zip(selection.coverage_item, selection.coverage_added, strict=True)
    }
    items = [
        {
            "item": k,
            "department": int(targets.item_department[k]),
            "status": int(selection.item_coverage[k]),
            **_texts(ITEM_COVERAGE_TEXT, int(selection.item_coverage[k])),
            "drawn_eligible": int(items_drawn[k]),
            "added_target_id": (int(targets.target_id[added_for[k]]) if k in added_for else None),
        }
        for k in range(selection.item_coverage.shape[0])
    ]

    n = int(selection.drawn.shape[0])
    joint = _cross_department(selection.required_departments)
    blocked_count = np.bincount(teams.blocked.astype(np.int64), minlength=max(REASONS) + 1)
    blocked_rows = np.flatnonzero(teams.blocked != BLOCKED_NONE)
    assigned = np.asarray(teams.workload, np.int64) - np.asarray(inspectors.workload, np.int64)
    exact = allocation.count is not None
    return {
        "algorithm_version": seeds.ALGORITHM_VERSION,
        "seed_commitment": seeds.commit(seed),
        "public_value": public_value,
        "snapshot_hash": snapshot_hash(targets, inspectors),
        "plan": plan.as_dict(),
        "team_options": options.as_dict(),
        "totals": {
            "targets": len(targets),
            "candidates": int(candidates.sum()),
            "excluded": int(excluded.shape[0]),
            "budget": int(allocation.budget) if exact else float(allocation.budget),
            "sampled": int(selection.stratum_allocation.sum()),
            "added_for_coverage": int(selection.coverage_added.shape[0]),
            "drawn": n,
            "alternates": int(selection.alternates.shape[0]),
            "inspectors": len(inspectors),
        },
        "allocation": {
            "method": allocation.method,
            "budget": float(allocation.budget),
            "scale": float(allocation.scale),
            "rounding_u": allocation.u,
        },
        "exclusions": {
            key: {"count": int(exclusion_total[code]), **_texts(EXCLUSION_TEXT, code)}
            for code, key in EXCLUSION_KEYS.items()
        },
        "strata": strata,
        "items": items,
        "joint": {
            "tasks": n,
            "cross_department": joint,
            "share": joint / n if n else 0.0,
        },
        "teams": {
            "staffed": int(blocked_count[BLOCKED_NONE]),
            "blocked": int(blocked_rows.shape[0]),
            "by_reason": {
                key: {"count": int(blocked_count[code]), **_texts(REASONS, code)}
                for code, key in BLOCKED_KEYS.items()
            },
            "blocked_targets": [
                {
                    "target_id": int(selection.drawn_id[i]),
                    "reason": BLOCKED_KEYS[int(teams.blocked[i])],
                    "code": int(teams.blocked[i]),
                    "department": int(teams.blocked_department[i]),
                }
                for i in blocked_rows
            ],
            "inspectors_assigned": int(np.count_nonzero(assigned)),
            "max_new_tasks": int(assigned.max(initial=0)),
        },
    }


def _cross_department(required: np.ndarray) -> int:
    """Joint tasks: rows with two or more departments (a column loop; sum(axis=1) is slow)."""
    count = np.zeros(required.shape[0], dtype=np.uint8)
    for department in range(required.shape[1]):
        count += required[:, department]
    return int(np.count_nonzero(count >= 2))
