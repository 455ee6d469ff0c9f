"""Team pairing, the second random draw: random inspection teams for the drawn targets.

Rules (行政处罚法 2021 art. 42; DOMAIN.md "The draw"):

- every staffed target gets ``max(team_size, number of required departments)`` distinct active
  officers, ``team_size >= 2``; a joint task has at least one officer of each required department;
- recusal (回避): never an officer with a declared conflict with the target, never one of the
  target's last inspectors, and, when enabled, never an officer whose jurisdiction is the target's;
- nobody ends above the workload cap;
- nothing is dropped silently: a target is either staffed or carries a ``blocked`` reason code.

How officers are chosen. Team slots are laid out per target: first one slot per required
department (ascending department order), then the extra slots up to the team size, which may be
filled by an officer of any of the target's required departments (of any department when the
target requires none). Slots with the same set of admissible departments form a *pool*. Per pool,
the slots receive officers sampled without replacement from the pool's remaining *capacity units*
(an officer with ``cap - workload`` open places appears that many times): a multivariate
hypergeometric draw of how many places each officer gets, then a random permutation of who goes
where. So the choice is uniform over capacity units: an officer with a lighter current workload
is proportionally more likely to be picked (cap 100: workload 0 weighs 100, workload 50 weighs
50), and with no cap the choice is uniform over officers. Targets carry a random priority; when a
pool's capacity is short, the highest-priority targets are served and the others are blocked.

Violations (recusal, the same officer twice in a team) are detected vectorised and repaired:
violating slots are emptied and refilled from the remaining capacity; slots that still violate
are swapped with a random slot of the same pool when both officers are admissible at their new
places (a swap keeps everybody's load, which matters when capacity is exactly used up). Targets
still short are blocked for workload; then, in priority order, an exact vectorised check finds
those that the capacity left over can still staff and a greedy search staffs them, so a target
blocked for workload really has no admissible team within the capacity that is left.
Infeasibility that does not depend on capacity (reasons 1, 2 and 4) is diagnosed before any
officer is assigned, so those targets consume no capacity.

Pure NumPy; randomness comes only from the caller's ``np.random.Generator`` (the draw derives it
from the "teams" stratum seed), so the same inputs and generator state give the same teams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCKED_NONE = 0
BLOCKED_NO_DEPARTMENT = 1
BLOCKED_RECUSED = 2
BLOCKED_WORKLOAD = 3
BLOCKED_TEAM_SIZE = 4

REASONS: dict[int, tuple[str, str]] = {
    BLOCKED_NONE: ("staffed", "已配齐检查人员"),
    BLOCKED_NO_DEPARTMENT: (
        "no active inspector of a required department",
        "所需部门没有在岗执法人员",
    ),
    BLOCKED_RECUSED: (
        "all remaining candidates are conflicted or recused",
        "其余候选执法人员均存在利害关系或需回避",
    ),
    BLOCKED_WORKLOAD: (
        "workload cap exhausted: every eligible inspector is at the cap",
        "执法人员任务量已达上限，无可派人员",
    ),
    BLOCKED_TEAM_SIZE: (
        "not enough inspectors for the team size",
        "执法人员人数不足，无法组成检查组",
    ),
}

MAX_DEPARTMENTS = 62  # department sets are int64 bit masks
_UNLIMITED = 1 << 40  # capacity units of an officer when there is no workload cap
_HYPERGEOMETRIC_LIMIT = 10**9  # NumPy's bound on the urn size for method="marginals"
_MAX_ROUNDS = 64
_STALL_ROUNDS = 3
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier


def reason_text(code: int, locale: str = "en") -> str:
    """Human-readable text of a ``blocked`` code; ``locale`` "zh…" gives Chinese."""
    try:
        english, chinese = REASONS[int(code)]
    except KeyError:
        raise ValueError(f"blocked: unknown reason code {code!r}") from None
    return chinese if locale.lower().startswith("zh") else english


@dataclass(frozen=True)
class Teams:
    """Result of :func:`assign_teams` for n targets and M inspectors.

    ``members[i]`` lists inspector *indices* (into the inspector arrays): the required-department
    officers first in ascending department order, then the extra members, padded with -1; the
    width is ``max(team_size, most departments any target requires)``. A blocked target has an
    all -1 row, ``blocked[i]`` > 0 and, when one department is to blame, ``blocked_department[i]``
    (else -1). ``workload`` is the inspectors' workload after this assignment.
    """

    members: np.ndarray
    blocked: np.ndarray
    blocked_department: np.ndarray
    workload: np.ndarray
    team_size: int

    @property
    def staffed(self) -> np.ndarray:
        return self.blocked == BLOCKED_NONE

    def member_ids(self, inspector_id: np.ndarray) -> np.ndarray:
        """``members`` translated to inspector ids (-1 stays -1)."""
        ids = np.asarray(inspector_id, dtype=np.int64)
        return np.where(self.members >= 0, ids[np.maximum(self.members, 0)], -1)


def assign_teams(
    *,
    target_id: np.ndarray,
    required_departments: np.ndarray,
    inspector_id: np.ndarray,
    department: np.ndarray,
    active: np.ndarray,
    workload: np.ndarray,
    rng: np.random.Generator,
    target_jurisdiction: np.ndarray | None = None,
    jurisdiction: np.ndarray | None = None,
    last_inspectors: np.ndarray | None = None,
    conflict_inspector: np.ndarray | None = None,
    conflict_target: np.ndarray | None = None,
    team_size: int = 2,
    workload_cap: int | None = None,
    recuse_same_jurisdiction: bool = False,
) -> Teams:
    """Pair each of n drawn targets with a random team of inspectors.

    Targets: ``target_id`` int64[n]; ``required_departments`` bool[n, D] (departments whose items
    are on the target); ``target_jurisdiction`` int[n]; ``last_inspectors`` int64[n, L]
    inspector ids of the previous inspection, -1 padded. Inspectors: ``inspector_id`` int64[M]
    (unique, >= 0); ``department`` int[M] in 0..D-1; ``jurisdiction`` int[M]; ``active`` bool[M];
    ``workload`` int[M] current open tasks. Declared conflicts are pairs of ids
    (``conflict_inspector[k]``, ``conflict_target[k]``); pairs naming unknown inspectors or
    targets outside this draw are ignored. ``workload_cap`` None means no cap. The jurisdiction
    arrays are needed only with ``recuse_same_jurisdiction``.
    """
    return _Pairing(
        target_id=target_id,
        required=required_departments,
        inspector_id=inspector_id,
        department=department,
        active=active,
        workload=workload,
        rng=rng,
        target_jurisdiction=target_jurisdiction,
        jurisdiction=jurisdiction,
        last_inspectors=last_inspectors,
        conflict_inspector=conflict_inspector,
        conflict_target=conflict_target,
        team_size=team_size,
        workload_cap=workload_cap,
        recuse=recuse_same_jurisdiction,
    ).run()


# --------------------------------------------------------------------------- validation


def _vector(name: str, value: object, length: int | None, kind: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name}: expected length {length}, got {array.shape[0]}")
    if array.size and kind == "bool" and array.dtype != np.bool_:
        raise ValueError(f"{name}: expected booleans, got dtype {array.dtype}")
    if array.size and kind == "int" and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected integers, got dtype {array.dtype}")
    return array.astype(np.bool_ if kind == "bool" else np.int64, copy=False)


def _sorted_contains(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(values.shape, dtype=bool)
    i = np.minimum(np.searchsorted(sorted_keys, values), sorted_keys.size - 1)
    return sorted_keys[i] == values


def _hash(values: np.ndarray, shift: np.uint64) -> np.ndarray:
    return ((values.astype(np.uint64) * _GOLDEN) >> shift).astype(np.intp)


def _isin_few(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``values ∈ keys`` for many values and few keys without sorting or bisecting every value.

    A hashed bitmap 16-32x the key count rejects almost every value in one gather; only the few
    candidates are checked exactly.
    """
    keys = np.unique(keys)
    if keys.size == 0 or values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    bits = max(10, int(keys.size).bit_length() + 4)
    shift = np.uint64(64 - bits)
    table = np.zeros(1 << bits, dtype=bool)
    table[_hash(keys, shift)] = True
    flat = values.ravel()
    candidates = np.flatnonzero(table[_hash(flat, shift)])
    out = np.zeros(flat.shape, dtype=bool)
    out[candidates] = _sorted_contains(keys, flat[candidates])
    return out.reshape(values.shape)


def _index_in(values: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted unique ``universe``, -1 when absent."""
    if universe.size == 0 or values.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    low = min(int(values.min()), int(universe[0]))
    high = max(int(values.max()), int(universe[-1]))
    if high - low <= max(4 * values.size, 1 << 22):  # dense table: one gather, no bisection
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[universe - low] = np.arange(universe.size)
        return table[values - low]
    i = np.minimum(np.searchsorted(universe, values), universe.size - 1)
    return np.where(universe[i] == values, i, -1)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each (s, c)."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - offsets + np.repeat(starts, counts)


def _row_masks(required: np.ndarray) -> np.ndarray:
    """Each row of a bool[n, D] matrix as an int64 bit mask (bit d = column d)."""
    columns = required.view(np.uint8)
    mask = np.zeros(required.shape[0], dtype=np.int64)
    for d in range(required.shape[1]):
        mask |= columns[:, d].astype(np.int64) << d
    return mask


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Column of the first True in each row, -1 for rows without one."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


# --------------------------------------------------------------------------- pairing


class _Pairing:
    """State of one pairing run; see the module docstring for the method."""

    def __init__(
        self,
        *,
        target_id: np.ndarray,
        required: np.ndarray,
        inspector_id: np.ndarray,
        department: np.ndarray,
        active: np.ndarray,
        workload: np.ndarray,
        rng: np.random.Generator,
        target_jurisdiction: np.ndarray | None,
        jurisdiction: np.ndarray | None,
        last_inspectors: np.ndarray | None,
        conflict_inspector: np.ndarray | None,
        conflict_target: np.ndarray | None,
        team_size: int,
        workload_cap: int | None,
        recuse: bool,
    ) -> None:
        if isinstance(team_size, bool) or not isinstance(team_size, int | np.integer):
            raise ValueError(f"team_size: expected an integer, got {team_size!r}")
        if team_size < 2:
            raise ValueError(
                f"team_size: at least 2 officers are required (行政处罚法 art. 42), got {team_size}"
            )
        if workload_cap is not None and (
            isinstance(workload_cap, bool)
            or not isinstance(workload_cap, int | np.integer)
            or workload_cap < 0
        ):
            raise ValueError(
                f"workload_cap: expected None or an integer >= 0, got {workload_cap!r}"
            )
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")

        self.tid = _vector("target_id", target_id, None, "int")
        n = self.n = self.tid.size
        req = np.asarray(required)
        if req.ndim != 2 or req.shape[0] != n:
            raise ValueError(f"required_departments: expected shape ({n}, D), got {req.shape}")
        if req.size and req.dtype != np.bool_:
            raise ValueError(f"required_departments: expected booleans, got dtype {req.dtype}")
        self.req = req.astype(bool, copy=False)
        D = self.D = req.shape[1]  # noqa: N806 - D departments, as in the spec
        if not 1 <= D <= MAX_DEPARTMENTS:
            raise ValueError(
                f"required_departments: expected 1..{MAX_DEPARTMENTS} department columns, got {D}"
            )

        self.iid = _vector("inspector_id", inspector_id, None, "int")
        M = self.M = self.iid.size  # noqa: N806
        self.dept = _vector("department", department, M, "int")
        self.act = _vector("active", active, M, "bool")
        load = _vector("workload", workload, M, "int")
        if M and (self.iid.min() < 0):
            raise ValueError("inspector_id: ids must be >= 0 (-1 pads last_inspectors)")
        if M and (self.dept.min() < 0 or self.dept.max() >= D):
            raise ValueError(f"department: values must lie in 0..{D - 1} (columns of required)")
        if M and load.min() < 0:
            raise ValueError("workload: open task counts must be >= 0")
        self.iid_order = np.argsort(self.iid, kind="stable")
        self.iid_sorted = self.iid[self.iid_order]
        if M > 1 and (self.iid_sorted[1:] == self.iid_sorted[:-1]).any():
            raise ValueError("inspector_id: ids must be unique")
        self.workload_in = load

        self.recuse = bool(recuse)
        if self.recuse:
            if target_jurisdiction is None or jurisdiction is None:
                raise ValueError(
                    "target_jurisdiction/jurisdiction: required when recuse_same_jurisdiction"
                )
            self.tj = _vector("target_jurisdiction", target_jurisdiction, n, "int")
            self.ojur = _vector("jurisdiction", jurisdiction, M, "int")

        self.last: np.ndarray | None = None
        if last_inspectors is not None:
            last = np.asarray(last_inspectors)
            if last.ndim != 2 or last.shape[0] != n:
                raise ValueError(f"last_inspectors: expected shape ({n}, L), got {last.shape}")
            if last.size and not np.issubdtype(last.dtype, np.integer):
                raise ValueError(f"last_inspectors: expected integer ids, got {last.dtype}")
            if last.shape[1]:
                self.last = last.astype(np.int64, copy=False)

        if (conflict_inspector is None) != (conflict_target is None):
            raise ValueError("conflict_inspector/conflict_target: give both or neither")
        no_pairs = np.zeros(0, dtype=np.int64)
        ci = _vector(
            "conflict_inspector",
            no_pairs if conflict_inspector is None else conflict_inspector,
            None,
            "int",
        )
        ct = _vector(
            "conflict_target",
            no_pairs if conflict_target is None else conflict_target,
            ci.size,
            "int",
        )

        if workload_cap is None:
            capacity = np.full(M, _UNLIMITED, dtype=np.int64)
        else:
            capacity = np.maximum(int(workload_cap) - load, 0)
        self.cap_left = np.where(self.act, capacity, 0).astype(np.int64)
        self.team_size = int(team_size)
        self.rng = rng

        self.blocked = np.zeros(n, dtype=np.int8)
        self.blocked_dept = np.full(n, -1, dtype=np.int16)
        self._build_conflicts(ci, ct)

    # ------------------------------------------------------------------ set-up

    def _officer_index(self, ids: np.ndarray) -> np.ndarray:
        """Inspector index of each id, -1 for unknown ids (and the -1 padding)."""
        if self.M == 0 or ids.size == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        i = np.minimum(np.searchsorted(self.iid_sorted, ids), self.M - 1)
        return np.where(self.iid_sorted[i] == ids, self.iid_order[i], -1)

    def _build_conflicts(self, ci: np.ndarray, ct: np.ndarray) -> None:
        """Declared conflicts as (row, officer) pairs, sorted by row, plus hashed int64 keys."""
        n = self.n
        officer = self._officer_index(ci)
        keep = officer >= 0
        officer, ct = officer[keep], ct[keep]
        self.has_conf = _isin_few(self.tid, ct)
        rows = np.flatnonzero(self.has_conf)
        by_target = np.argsort(ct, kind="stable")
        ct_sorted, officer_sorted = ct[by_target], officer[by_target]
        low = np.searchsorted(ct_sorted, self.tid[rows], side="left")
        high = np.searchsorted(ct_sorted, self.tid[rows], side="right")
        self.conf_row = np.repeat(rows, high - low)
        self.conf_off = officer_sorted[_ranges(low, high - low)]
        self.conf_keys = np.unique(self.conf_off * n + self.conf_row)
        self.conf_count = np.bincount(self.conf_row, minlength=n)

    def _recused_pairs(
        self, rows: np.ndarray, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row, officer) pairs recused by declared conflict or last inspection, for ``rows``;
        with ``among`` (bool[M]), only the pairs of those officers (hashed lookup when few)."""
        with_conf = rows[self.has_conf[rows]]
        low = np.searchsorted(self.conf_row, with_conf, side="left")
        high = np.searchsorted(self.conf_row, with_conf, side="right")
        pick = _ranges(low, high - low)
        pair_rows, pair_offs = [self.conf_row[pick]], [self.conf_off[pick]]
        if self.last is not None:
            ids = self.last[rows]
            if among is not None and 16 * int(among.sum()) < self.M:
                hit = _isin_few(ids, self.iid[among])
                pair_rows.append(np.broadcast_to(rows[:, None], ids.shape)[hit])
                pair_offs.append(self._officer_index(ids[hit]))
            else:
                officers = self._officer_index(ids)
                known = officers >= 0
                pair_rows.append(np.broadcast_to(rows[:, None], ids.shape)[known])
                pair_offs.append(officers[known])
        pair_rows, pair_offs = np.concatenate(pair_rows), np.concatenate(pair_offs)
        if among is not None:
            keep = among[pair_offs]
            pair_rows, pair_offs = pair_rows[keep], pair_offs[keep]
        return pair_rows, pair_offs

    def _kinds(self) -> None:
        """Group targets by their set of required departments (a bit mask); per-kind tables
        replace per-target work on n x D arrays."""
        n, D = self.n, self.D  # noqa: N806
        mask = _row_masks(self.req)
        if D <= 16:  # a lookup table over all masks instead of sorting n of them
            present = np.zeros(1 << D, dtype=bool)
            present[mask] = True
            kinds = np.flatnonzero(present).astype(np.int64)
            lut = np.zeros(1 << D, dtype=np.int32)
            lut[kinds] = np.arange(kinds.size, dtype=np.int32)
            self.kind = lut[mask]
        else:
            kinds, inverse = np.unique(mask, return_inverse=True)
            self.kind = inverse.astype(np.int32)
        self.bit = np.int64(1) << np.arange(D, dtype=np.int64)
        self.kind_mask = kinds
        self.kind_depts = (kinds[:, None] & self.bit) != 0  # bool[U, D]
        r = self.kind_depts.sum(axis=1)
        self.kind_r = r
        self.kind_T = np.maximum(self.team_size, r)
        # No required department: officers of any department may staff the target.
        self.kind_union = np.where(r == 0, self.bit.sum(), kinds)
        self.kind_union_depts = (self.kind_union[:, None] & self.bit) != 0
        self.kind_single = np.where(r == 1, _first_true(self.kind_depts), -1)
        self.W = int(self.kind_T.max()) if n else self.team_size

    def _diagnose(self) -> None:
        """Reasons 1, 4 and 2: infeasible whatever the capacity, so decided before pairing."""
        n, D = self.n, self.D  # noqa: N806
        if n == 0:
            return
        act_cnt = np.bincount(self.dept[self.act], minlength=D).astype(np.int64)
        depts, union = self.kind_depts, self.kind_union_depts
        T = self.kind_T  # noqa: N806
        single = self.kind_single
        missing = depts & (act_cnt == 0)
        union_cnt = union.astype(np.int64) @ act_cnt
        code = np.where(missing.any(axis=1), BLOCKED_NO_DEPARTMENT, BLOCKED_NONE)
        code = np.where((code == 0) & (union_cnt < T), BLOCKED_TEAM_SIZE, code)
        blame = np.where(code == BLOCKED_NO_DEPARTMENT, _first_true(missing), single)
        blame = np.where(code == BLOCKED_NONE, -1, blame)
        self.blocked[:] = code[self.kind]
        self.blocked_dept[:] = blame[self.kind]

        # Recusal. A target with b declared conflicts and last inspectors keeps at least
        # (officers of d) - b - (same-jurisdiction officers of d) candidates per department, so
        # it is certainly feasible while b stays below a per-(jurisdiction, kind) threshold; the
        # exact count runs only on the few targets at or above it.
        bound = self.conf_count.astype(np.int64)
        if self.last is not None:
            for column in range(self.last.shape[1]):
                bound += self.last[:, column] >= 0
        if self.recuse:
            officer_jur = np.unique(self.ojur[self.act])
            same = np.zeros((officer_jur.size + 1, D), dtype=np.int64)  # last row: nobody
            where = np.searchsorted(officer_jur, self.ojur[self.act])
            np.add.at(same, (where, self.dept[self.act]), 1)
            row_jur = _index_in(self.tj, officer_jur)  # -1 -> the all-zero last row
        else:
            same = np.zeros((1, D), dtype=np.int64)
            row_jur = np.zeros(n, dtype=np.int64)
        J, U = same.shape[0], self.kind_mask.size  # noqa: N806

        def threshold(jur: np.ndarray, kind: np.ndarray) -> np.ndarray:
            per_dept = np.iinfo(np.int64).max
            per_union = 1 - T[kind]
            for d in range(D):
                free = act_cnt[d] - same[jur, d]
                per_dept = np.where(depts[kind, d], np.minimum(per_dept, free), per_dept)
                per_union = per_union + np.where(union[kind, d], free, 0)
            return np.minimum(per_dept, per_union)

        if max(n, 1 << 16) >= J * U:  # a [J, U] table, then one gather per target
            table = threshold(np.arange(J)[:, None], np.arange(U)[None, :])
            limit = table[row_jur, self.kind]
        else:
            limit = threshold(row_jur, self.kind)
        alive = self.blocked == 0
        suspect = np.flatnonzero(alive & (bound >= limit))
        if suspect.size == 0:
            return

        dept_fail, union_fail = self._shortfall(suspect, self.act)
        fail = dept_fail.any(axis=1) | union_fail
        blame = np.where(dept_fail.any(axis=1), _first_true(dept_fail), single[self.kind[suspect]])
        self._set_blocked(suspect[fail], BLOCKED_RECUSED, blame[fail])

    def _shortfall(self, rows: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exactly, for sorted ``rows``: which required departments have no eligible officer
        left after recusal (bool[rows, D]), and whether the union has fewer than the team size.
        Both False means a team exists among the ``eligible`` officers (required slots first,
        then any others of the union: a greedy choice cannot fail)."""
        n, D = self.n, self.D  # noqa: N806
        left = np.tile(np.bincount(self.dept[eligible], minlength=D), (rows.size, 1))
        if self.recuse:
            codes, where = np.unique(self.ojur[eligible], return_inverse=True)
            same = np.zeros((codes.size + 1, D), dtype=np.int64)  # last row: nobody
            np.add.at(same, (where, self.dept[eligible]), 1)
            left -= same[_index_in(self.tj[rows], codes)]
        pair_rows, pair_offs = self._recused_pairs(rows, among=eligible)
        if self.recuse:
            keep = self.ojur[pair_offs] != self.tj[pair_rows]  # counted in `same`
            pair_rows, pair_offs = pair_rows[keep], pair_offs[keep]
        keys = np.unique(pair_offs * n + pair_rows)
        local = np.searchsorted(rows, keys % n)
        recused = np.bincount(local * D + self.dept[keys // n], minlength=rows.size * D)
        left -= recused.reshape(rows.size, D)
        kind = self.kind[rows]
        dept_fail = self.kind_depts[kind] & (left < 1)
        union_fail = (left * self.kind_union_depts[kind]).sum(axis=1) < self.kind_T[kind]
        return dept_fail, union_fail

    def _layout(self) -> None:
        """Team slots per target and the pools (sets of admissible departments) of the slots:
        one slot per required department in ascending order, then extra slots open to the
        union of the required departments, up to the team size."""
        n, W = self.n, self.W  # noqa: N806
        U = self.kind_mask.size  # noqa: N806
        kind_slots = np.zeros((U, W), dtype=np.int64)
        kinds, cols = np.nonzero(self.kind_depts)
        rank = np.cumsum(self.kind_depts, axis=1)[kinds, cols] - 1
        kind_slots[kinds, rank] = self.bit[cols]
        j = np.arange(W)
        extra = (j >= self.kind_r[:, None]) & (j < self.kind_T[:, None])
        kind_slots = np.where(extra, self.kind_union[:, None], kind_slots)
        masks = np.unique(kind_slots)
        masks = masks[masks != 0]
        popcount = np.array([int(m).bit_count() for m in masks], dtype=np.int64)
        masks = masks[np.lexsort((masks, popcount))]  # single departments first
        self.pool_masks = masks
        self.pool_dtype = (
            np.uint8 if masks.size <= 1 << 8 else np.uint16 if masks.size <= 1 << 16 else np.int64
        )
        by_value = np.argsort(masks)
        where = np.minimum(np.searchsorted(masks[by_value], kind_slots), max(masks.size - 1, 0))
        kind_pool = np.where(kind_slots == 0, -1, by_value[where] if masks.size else -1)
        kind_pool = kind_pool.astype(np.int32)
        self.kind_pool = kind_pool
        self.slot_pool = kind_pool[self.kind] if n else np.zeros((0, W), dtype=np.int32)
        self.slot_pool[self.blocked > 0] = -1
        dept_bit = self.bit[self.dept] if self.M else np.zeros(0, dtype=np.int64)
        self.pool_members = [np.flatnonzero(self.act & ((dept_bit & m) != 0)) for m in masks]
        self.members = np.full((n, W), -1, dtype=np.int64)
        self.mflat = self.members.reshape(-1)
        self.pflat = self.slot_pool.reshape(-1)

    def _set_blocked(self, rows: np.ndarray, code: int, dept: np.ndarray) -> None:
        self.blocked[rows] = code
        self.blocked_dept[rows] = dept

    # ------------------------------------------------------------------ sampling

    def _sample_counts(self, available: np.ndarray, k: int) -> np.ndarray:
        """How many of k places each officer gets: k capacity units drawn without replacement."""
        total = int(available.sum())
        if total < _HYPERGEOMETRIC_LIMIT:
            return self.rng.multivariate_hypergeometric(available, k)
        # Huge capacities (no cap): sampling with replacement is the same law up to rounding;
        # clipping keeps the counts within capacity, clipped places are refilled by the repair.
        counts = self.rng.multinomial(k, available / total)
        return np.minimum(counts, available)

    def _fill(self, positions: np.ndarray, pool: int) -> np.ndarray:
        """Fill empty slots of one pool; returns the slots filled. When capacity is short the
        targets of highest priority are served first."""
        officers = self.pool_members[pool]
        available = self.cap_left[officers]
        k = min(positions.size, int(available.sum()))
        if k == 0:
            return positions[:0]
        counts = self._sample_counts(available, k)
        drawn = self.rng.permutation(np.repeat(officers, counts))
        if drawn.size < positions.size:  # the highest priorities, in no particular order
            first = np.argpartition(self.rank[positions // self.W], drawn.size - 1)
            positions = positions[first[: drawn.size]]
        self.mflat[positions] = drawn
        self.cap_left[officers] -= counts
        return positions

    def _refill(self, positions: np.ndarray) -> np.ndarray:
        pools = self.pflat[positions]
        order = np.argsort(pools.astype(self.pool_dtype), kind="stable")  # radix sort
        positions, pools = positions[order], pools[order]
        bounds = np.searchsorted(pools, np.arange(self.pool_masks.size + 1))
        filled = [
            self._fill(positions[bounds[g] : bounds[g + 1]], g)
            for g in range(self.pool_masks.size)
            if bounds[g + 1] > bounds[g]
        ]
        return np.concatenate(filled) if filled else positions[:0]

    def _release(self, positions: np.ndarray) -> None:
        officers = self.mflat[positions]
        officers = officers[officers >= 0]
        if officers.size * 16 < self.M:
            np.add.at(self.cap_left, officers, 1)
        else:
            self.cap_left += np.bincount(officers, minlength=self.M)
        self.mflat[positions] = -1

    # ------------------------------------------------------------------ checks

    def _invalid(self, positions: np.ndarray, officers: np.ndarray) -> np.ndarray:
        """Whether each officer would break a rule at each slot (other slots as they are now)."""
        W, n = self.W, self.n  # noqa: N806
        rows = positions // W
        cols = positions - rows * W
        bad = np.zeros(positions.size, dtype=bool)
        if self.recuse:
            bad |= self.ojur[officers] == self.tj[rows]
        if self.last is not None:
            bad |= (self.last[rows] == self.iid[officers][:, None]).any(axis=1)
        if self.conf_keys.size:
            sel = np.flatnonzero(self.has_conf[rows])
            bad[sel] |= _sorted_contains(self.conf_keys, officers[sel] * n + rows[sel])
        same = self.members[rows] == officers[:, None]
        same[np.arange(positions.size), cols] = False
        bad |= same.any(axis=1)
        return bad

    def _invalid_all(self) -> np.ndarray:
        """Flat positions of filled slots that break a rule; of two equal members, the later."""
        m, n, W = self.members, self.n, self.W  # noqa: N806
        filled = m >= 0
        safe = np.maximum(m, 0)
        bad = np.zeros(m.shape, dtype=bool)
        if self.recuse:
            bad |= self.ojur[safe] == self.tj[:, None]
        if self.last is not None:
            ids = self.iid[safe]
            for column in range(self.last.shape[1]):
                bad |= ids == self.last[:, column : column + 1]
        for j in range(1, W):
            for earlier in range(j):
                bad[:, j] |= m[:, j] == m[:, earlier]
        if self.conf_keys.size:
            rows = np.flatnonzero(self.has_conf)
            bad[rows] |= _sorted_contains(self.conf_keys, m[rows] * n + rows[:, None])
        return np.flatnonzero((bad & filled).ravel())

    # ------------------------------------------------------------------ repair

    def _swap(self, bad: np.ndarray) -> np.ndarray:
        """Swap violating slots with random slots of the same pool; returns those still bad."""
        W = self.W  # noqa: N806
        pools = self.pflat[bad]
        pick = self.pool_start[pools] + (self.rng.random(bad.size) * self.pool_size[pools]).astype(
            np.int64
        )
        partner = self.by_pool[pick]
        rows_b, rows_p = bad // W, partner // W
        ok = (self.pflat[partner] == pools) & (self.mflat[partner] >= 0) & (rows_b != rows_p)
        ok &= ~np.isin(partner, bad)
        cand = np.flatnonzero(ok)
        # Swaps touching the same target are checked against a state that the other would change.
        _, inverse, counts = np.unique(
            np.concatenate([rows_b[cand], rows_p[cand]]), return_inverse=True, return_counts=True
        )
        shared = counts[inverse] > 1
        cand = cand[~(shared[: cand.size] | shared[cand.size :])]
        here, there = bad[cand], partner[cand]
        mine, theirs = self.mflat[here], self.mflat[there]
        good = ~self._invalid(here, theirs) & ~self._invalid(there, mine)
        self.mflat[here[good]] = theirs[good]
        self.mflat[there[good]] = mine[good]
        still = np.ones(bad.size, dtype=bool)
        still[cand[good]] = False
        return bad[still]

    def _repair(self, bad: np.ndarray) -> None:
        """Empty and refill violating slots until every filled slot is valid or progress stops."""
        best, stalled = np.inf, 0
        for _ in range(_MAX_ROUNDS):
            if bad.size:
                self._release(bad)
            empty = np.flatnonzero((self.mflat < 0) & (self.pflat >= 0))
            if empty.size == 0:
                return
            filled = self._refill(empty)
            if filled.size == 0:
                return  # what stays empty has no capacity left in its pool
            bad = filled[self._invalid(filled, self.mflat[filled])]
            if bad.size:
                bad = self._swap(bad)
            remaining = bad.size + empty.size - filled.size
            if remaining == 0:
                return
            stalled = stalled + 1 if remaining >= best else 0
            best = min(best, remaining)
            if stalled >= _STALL_ROUNDS:
                break
        self._release(bad)

    def _block_rows(self, rows: np.ndarray, code: int, dept: np.ndarray) -> None:
        positions = (rows[:, None] * self.W + np.arange(self.W)).ravel()
        self._release(positions)
        self.slot_pool[rows] = -1
        self._set_blocked(rows, code, dept)

    def _pool_blame(self, pools: np.ndarray) -> np.ndarray:
        """The department of each pool when it is a single department, else -1."""
        masks = self.pool_masks[pools]
        single = (masks & (masks - 1)) == 0
        return np.where(single, np.log2(np.maximum(masks, 1)).astype(np.int64), -1)

    def _settle(self) -> None:
        """After the repair, targets still short of officers are blocked for workload: first
        those short in a pool that has no capacity left (blocking them frees the places they
        held, so repair and repeat), then the rest; then the exact retry."""
        self._repair(self._invalid_all())
        bit = np.int64(1) << np.arange(self.D, dtype=np.int64)
        while True:
            empty = np.flatnonzero((self.mflat < 0) & (self.pflat >= 0))
            if empty.size == 0:
                break
            holders = np.bincount(self.dept[self.cap_left > 0], minlength=self.D)
            pool_has = np.array([holders[(bit & m) != 0].sum() > 0 for m in self.pool_masks])
            dead = empty[~pool_has[self.pflat[empty]]]
            short = dead if dead.size else empty
            rows, first = np.unique(short // self.W, return_index=True)
            self._block_rows(rows, BLOCKED_WORKLOAD, self._pool_blame(self.pflat[short[first]]))
            if dead.size == 0:
                break
            self._repair(dead[:0])
        self._retry_blocked()

    def _retry_blocked(self) -> None:
        """Targets blocked for workload, in priority order, against the capacity that is left
        (places freed by targets blocked after them included). An exact vectorised check picks
        the targets of a chunk that can still be staffed; each gets the greedy search, and
        after a failure (an earlier success took the places it needed) the check is redone.
        Staffing only consumes capacity, so at the end no target blocked for workload has an
        admissible team within the capacity that is left. Chunks double in size and the scan
        stops once no department set can be served at all."""
        order = np.empty(self.n, dtype=np.int64)
        order[self.rank] = np.arange(self.n)
        queue = order[self.blocked[order] == BLOCKED_WORKLOAD]
        start, size = 0, 1024
        while start < queue.size:
            holders = np.bincount(self.dept[self.cap_left > 0], minlength=self.D)
            servable = (~self.kind_depts | (holders >= 1)).all(axis=1) & (
                self.kind_union_depts.astype(np.int64) @ holders >= self.kind_T
            )
            if not servable[self.kind[queue[start:]]].any():
                return
            chunk = np.sort(queue[start : start + size])
            start, size = start + size, 2 * size
            while chunk.size:
                dept_fail, union_fail = self._shortfall(chunk, self.cap_left > 0)
                stuck = dept_fail.any(axis=1) | union_fail
                blame = np.where(
                    dept_fail.any(axis=1),
                    _first_true(dept_fail),
                    self.kind_single[self.kind[chunk]],
                )
                self.blocked_dept[chunk[stuck]] = blame[stuck]
                chunk = chunk[~stuck]
                chunk = chunk[np.argsort(self.rank[chunk], kind="stable")]
                for i, row in enumerate(chunk):
                    if not self._greedy(int(row)):
                        chunk = np.sort(chunk[i + 1 :])
                        break
                else:
                    break

    def _greedy(self, row: int) -> bool:
        """Staff one blocked target from the remaining capacity, or leave it blocked naming the
        pool that failed. Required slots come first, so a greedy choice never blocks a later
        slot: the search is exact."""
        recused = np.zeros(self.M, dtype=bool)
        _, offs = self._recused_pairs(np.array([row]))
        recused[offs] = True
        if self.recuse:
            recused |= self.ojur == self.tj[row]
        pools = self.kind_pool[self.kind[row]]
        team: list[int] = []
        for j in range(int(self.kind_T[self.kind[row]])):
            officers = self.pool_members[pools[j]]
            ok = (self.cap_left[officers] > 0) & ~recused[officers]
            ok &= ~np.isin(officers, team)
            officers = officers[ok]
            if officers.size == 0:
                self.blocked_dept[row] = self._pool_blame(pools[j : j + 1])[0]
                return False
            weight = self.cap_left[officers].astype(np.float64)
            team.append(int(self.rng.choice(officers, p=weight / weight.sum())))
        self.slot_pool[row] = pools
        self.members[row, : len(team)] = team
        self.cap_left[team] -= 1
        self._set_blocked(np.array([row]), BLOCKED_NONE, np.array([-1]))
        return True

    # ------------------------------------------------------------------ main

    def run(self) -> Teams:
        self._kinds()
        self._diagnose()
        self._layout()
        n, W = self.n, self.W  # noqa: N806
        self.rank = self.rng.permutation(n)  # priority when capacity is short
        # Slot positions grouped by pool: rows grouped by kind (a radix sort), then per kind
        # and slot column one arithmetic run; no sort over all slots.
        U, G = self.kind_mask.size, self.pool_masks.size  # noqa: N806
        rows = np.flatnonzero(self.blocked == 0)
        kinds = self.kind[rows]
        radix = np.uint8 if U <= 1 << 8 else np.uint16 if U <= 1 << 16 else np.int64
        rows = rows[np.argsort(kinds.astype(radix), kind="stable")]
        kind_end = np.cumsum(np.bincount(kinds, minlength=U))
        segments: list[list[np.ndarray]] = [[] for _ in range(G)]
        for u in range(U):
            rows_u = rows[kind_end[u - 1] if u else 0 : kind_end[u]]
            for j in range(int(self.kind_T[u])):
                segments[self.kind_pool[u, j]].append(rows_u * W + j)
        self.pool_size = np.array([sum(s.size for s in seg) for seg in segments], dtype=np.int64)
        self.pool_start = np.cumsum(self.pool_size) - self.pool_size
        self.by_pool = np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [s for seg in segments for s in seg]
        )
        if rows.size:  # else every target is blocked already (and M may be 0)
            for g in range(G):
                start = self.pool_start[g]
                self._fill(self.by_pool[start : start + self.pool_size[g]], g)
            self._settle()

        staffed = self.members >= 0
        assigned = np.bincount(self.members[staffed], minlength=self.M)
        return Teams(
            members=self.members,
            blocked=self.blocked,
            blocked_department=self.blocked_dept,
            workload=(self.workload_in + assigned).astype(np.int32),
            team_size=self.team_size,
        )
