"""Distributed draws: the strata of one draw computed by Celery workers, merged by the client.

Every stratum has its own generator, seeded with ``HMAC(draw key, stratum label)``
(``random_sampler.seeds``), so any group of strata can be drawn on its own. The client
(``distributed_selection``) reads the stored candidate snapshot, computes the allocation of the
whole draw once, splits the strata into balanced groups and (``draw_in_parts``):

* sends one ``enforcement.tasks.draw_part`` per group. A part loads the snapshot by its
  SHA-256, keeps only the rows of its strata (``strata_rows`` + ``TargetArrays.take``) and draws
  them with the whole draw's allocation (``draw_targets(strata=..., allocation=...)``). Its task
  id is the SHA-256 of its arguments (``part_task_id``): the same part always has the same id,
  and the id reveals nothing of the key;
* waits for the parts' results, and sends again a part lost with a killed worker (below);
* merges the parts itself (``merge_loaded``: ``merge_strata``, which also runs the global
  item-coverage step) on the snapshot it has already read.

The result is the one-process ``run_draw`` selection, array for array: the allocation, the
per-stratum draws and the coverage step are the same computations on the same inputs. Teams
and the report are not distributed: the caller runs ``finish_draw`` on the merged selection.

**A lost part.** Tasks are acknowledged late, so a pool child killed mid-part is handed back
by its worker (``task_reject_on_worker_lost``). A whole worker killed (SIGKILL, the machine)
leaves its part unacknowledged on the broker, which Redis gives back only after its visibility
timeout (an hour): too late for the client. So while it waits, the client asks the workers
every few seconds which unfinished parts they hold (``inspect().query_task``: running,
reserved, or waiting for a retry). A part that was started (``track_started``) or is being
retried, and that no answering worker holds for ``suijian.draw.part_stall_seconds`` (30 s) in
a row, is sent again with the same id and arguments; so is a part never started while a worker
sits idle (then it is not waiting in the queue). No worker answering means "wait": the part is
sent again once a worker (a restarted one) answers without it. At most ``MAX_SENT_AGAIN``
times a part per call. A duplicate run is harmless: a part is a pure function of its
arguments and the content-addressed snapshot, and the result backend keeps the first success.
Why not a shorter visibility timeout instead: it applies to every message of the transport, so
any task running longer than it (the nightly re-rating) would be delivered a second time while
it still runs; and it does not tell a dead worker from a slow one, which asking the workers does.

After success or a failure the parts' results are forgotten; after a timeout they are kept
(they expire after a day), so drawing again reuses the parts already done.

Task arguments and results are JSON (the app's serializer). Arrays travel as a deterministic
``.npz`` (fixed entry order and timestamps, deflated) in base64 (``encode_selection``,
``encode_allocation``); plans as ``PlanSpec.as_dict()``; the draw key (not the seed) as hex.
The ``merge_draw_parts`` task (``merge_parts``) remains for messages sent by older clients.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import heapq
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from celery import Celery, states
from celery.result import AsyncResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from enforcement.reasons import reason
from enforcement.services.snapshots import SnapshotMissingError, load_snapshot
from enforcement.worker import SETTINGS_KEY, task_session
from random_sampler.allocation import Allocation, PlanSpec
from random_sampler.draw import TargetArrays, draw_allocation, merge_strata, strata_rows
from random_sampler.seeds import draw_key
from random_sampler.select import Selection, draw_targets

log = logging.getLogger(__name__)

SELECTION_FORMAT = "suijian-selection/1"
ALLOCATION_FORMAT = "suijian-allocation/1"
DRAW_PART_TASK = "enforcement.tasks.draw_part"
MERGE_TASK = "enforcement.tasks.merge_draw_parts"

_META = "meta.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # no wall clock in the bytes: same arrays, same encoding
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ALLOCATION_ARRAYS = ("stratum_size", "ratio", "expected", "count")
_ALLOCATION_FLOATS = ("budget", "scale", "u")
_SELECTION_ARRAYS = tuple(f.name for f in dataclasses.fields(Selection) if f.name != "allocation")
_PLAN_FIELDS = tuple(f.name for f in dataclasses.fields(PlanSpec))
_LABELS_SHOWN = 5  # stratum labels named in an error message before "and N more"
DEFAULT_PART_STALL_SECONDS = 30.0  # held by no worker this long: a part is sent again
MAX_SENT_AGAIN = 3  # times one part is sent again in one call, at most
_POLL_SECONDS = 0.25  # between two looks at the parts' results
_INSPECT_SECONDS = 1.0  # how long the workers have to answer "which parts do you hold?"


class EncodingError(ValueError):
    """An encoded selection, allocation or plan that cannot be read (says what is wrong)."""


class DrawPartError(ValueError):
    """A part (or the merge) of a distributed draw failed; raised in the worker, names the
    stratum group. Database errors are not wrapped, so transient ones are retried."""


class DistributedDrawError(RuntimeError):
    """A distributed draw did not complete: names the failed stratum group and the cause."""


# --------------------------------------------------------------------------- encodings


def _pack(fmt: str, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str:
    """Base64 of a deflated zip: ``meta.json`` then one ``.npy`` per array, in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        header = json.dumps({"format": fmt, **meta}, ensure_ascii=False, sort_keys=True)
        _write(archive, _META, header.encode())
        for name, value in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(value), allow_pickle=False)
            _write(archive, f"{name}.npy", npy.getvalue())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=6)


def _unpack(fmt: str, text: object) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not isinstance(text, str):
        raise EncodingError(f"{fmt}: expected a base64 string, got {type(text).__name__}")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read(_META))
            arrays = {
                name[: -len(".npy")]: np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except (binascii.Error, UnicodeEncodeError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise EncodingError(f"{fmt}: unreadable encoding ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise EncodingError(f"{fmt}: the encoding is of format {found!r}")
    return meta, arrays


def _hex_float(value: float | None) -> str | None:
    return None if value is None else float(value).hex()  # exact, and valid JSON for inf/nan


def _from_hex(value: object, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float.fromhex(str(value))
    except ValueError as exc:
        raise EncodingError(f"allocation.{name}: not a hex float: {value!r}") from exc


def _allocation_parts(allocation: Allocation) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta = {
        "method": allocation.method,
        "stratum_labels": list(allocation.stratum_labels),
        **{name: _hex_float(getattr(allocation, name)) for name in _ALLOCATION_FLOATS},
    }
    arrays = {
        f"allocation.{name}": getattr(allocation, name)
        for name in _ALLOCATION_ARRAYS
        if getattr(allocation, name) is not None
    }
    return meta, arrays


def _allocation_from(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Allocation:
    missing = [f"allocation.{n}" for n in _ALLOCATION_ARRAYS[:3] if f"allocation.{n}" not in arrays]
    missing += [f"allocation.{n}" for n in ("method", "stratum_labels") if n not in meta]
    if missing:
        raise EncodingError(f"the encoding has no {', '.join(missing)}")
    budget = _from_hex(meta.get("budget"), "budget")
    scale = _from_hex(meta.get("scale"), "scale")
    if budget is None or scale is None:
        raise EncodingError("allocation.budget and allocation.scale are required")
    return Allocation(
        method=str(meta["method"]),
        stratum_labels=tuple(meta["stratum_labels"]),
        stratum_size=arrays["allocation.stratum_size"],
        ratio=arrays["allocation.ratio"],
        expected=arrays["allocation.expected"],
        count=arrays.get("allocation.count"),
        budget=budget,
        scale=scale,
        u=_from_hex(meta.get("u"), "u"),
    )


def encode_allocation(allocation: Allocation) -> str:
    """The allocation as a JSON-safe string (exact: arrays as ``.npy``, floats as hex)."""
    meta, arrays = _allocation_parts(allocation)
    return _pack(ALLOCATION_FORMAT, {"allocation": meta}, arrays)


def decode_allocation(text: str) -> Allocation:
    """The allocation encoded by ``encode_allocation``; ``EncodingError`` says what is wrong."""
    meta, arrays = _unpack(ALLOCATION_FORMAT, text)
    return _allocation_from(meta.get("allocation") or {}, arrays)


def encode_selection(selection: Selection) -> str:
    """Every array of ``selection`` (dtypes and shapes kept) and its allocation, as a
    JSON-safe string. Deterministic: the same selection always gives the same string."""
    meta, allocation_arrays = _allocation_parts(selection.allocation)
    arrays = {name: getattr(selection, name) for name in _SELECTION_ARRAYS}
    return _pack(SELECTION_FORMAT, {"allocation": meta}, {**arrays, **allocation_arrays})


def decode_selection(text: str) -> Selection:
    """The selection encoded by ``encode_selection``; ``EncodingError`` says what is wrong."""
    meta, arrays = _unpack(SELECTION_FORMAT, text)
    missing = [name for name in _SELECTION_ARRAYS if name not in arrays]
    if missing:
        raise EncodingError(f"{SELECTION_FORMAT}: missing array(s) {', '.join(missing)}")
    allocation = _allocation_from(meta.get("allocation") or {}, arrays)
    return Selection(**{name: arrays[name] for name in _SELECTION_ARRAYS}, allocation=allocation)


def encode_plan(plan: PlanSpec) -> dict[str, Any]:
    """The plan as JSON values (``PlanSpec.as_dict``; an int/float ``alternates_per_stratum``
    keeps its type through JSON)."""
    return plan.as_dict()


def decode_plan(value: Mapping[str, Any]) -> PlanSpec:
    """A ``PlanSpec`` from ``encode_plan``'s values; a bad field raises ValueError naming it."""
    if not isinstance(value, Mapping):
        raise EncodingError(f"plan must be a JSON object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(_PLAN_FIELDS))
    if unknown:
        raise EncodingError(f"plan: unknown field(s) {', '.join(unknown)}")
    if "tier_ratio" not in value:
        raise EncodingError("plan.tier_ratio is required")
    ratios = value["tier_ratio"]
    if not isinstance(ratios, list | tuple):
        raise EncodingError(f"plan.tier_ratio must be a list of 4 numbers, got {ratios!r}")
    return PlanSpec(**{**value, "tier_ratio": tuple(ratios)})


def _decode_key(key: object) -> bytes:
    try:
        data = bytes.fromhex(str(key))
    except ValueError as exc:
        raise EncodingError(f"key must be hex, got {key!r}") from exc
    if len(data) != 32:
        raise EncodingError(f"key must be 32 bytes (64 hex digits), got {len(data)} bytes")
    return data


def _check_sha256(value: object) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError(f"snapshot_sha256 must be 64 lowercase hex digits, got {value!r}")
    return value


# --------------------------------------------------------------------------- groups


def balanced_groups(weights: Sequence[int] | np.ndarray, parts: int) -> list[tuple[int, ...]]:
    """Split strata 0..S-1 into at most ``parts`` non-empty groups of similar total weight.

    Greedy longest-processing-time: strata by weight (descending, then code) go one by one to
    the lightest group (fewest strata, then lowest index, on ties). Deterministic; each group
    is returned sorted. There are ``min(parts, S)`` groups.
    """
    if isinstance(parts, bool) or not isinstance(parts, int | np.integer) or parts < 1:
        raise ValueError(f"parts must be a whole number >= 1, got {parts!r}")
    weight = np.asarray(weights, dtype=np.int64)
    if weight.ndim != 1 or (weight < 0).any():
        raise ValueError("weights must be a 1-D array of non-negative counts")
    n_groups = min(int(parts), int(weight.shape[0]))
    groups: list[list[int]] = [[] for _ in range(n_groups)]
    heap = [(0, 0, g) for g in range(n_groups)]  # (load, strata, group)
    for h in sorted(range(weight.shape[0]), key=lambda h: (-int(weight[h]), h)):
        load, size, g = heapq.heappop(heap)
        groups[g].append(h)
        heapq.heappush(heap, (load + int(weight[h]), size + 1, g))
    return [tuple(sorted(group)) for group in groups]


def describe_group(
    group: int, n_groups: int, strata: Sequence[int], labels: Sequence[str] | None = None
) -> str:
    """The group for error messages: ``part 2 of 3 (strata 0, 4, 7: '330101|A', ...)``."""
    codes = ", ".join(str(h) for h in strata[:_LABELS_SHOWN])
    if len(strata) > _LABELS_SHOWN:
        codes += f" and {len(strata) - _LABELS_SHOWN} more"
    text = f"part {group + 1} of {n_groups} (strata {codes}"
    if labels is not None:
        text += ": " + ", ".join(
            repr(labels[h]) if 0 <= h < len(labels) else "no such stratum"
            for h in strata[:_LABELS_SHOWN]
        )
        if len(strata) > _LABELS_SHOWN:
            text += ", ..."
    return text + ")"


# --------------------------------------------------------------------------- task bodies


def compute_part(
    session: Session,
    *,
    snapshot_sha256: str,
    plan: Mapping[str, Any],
    key: str,
    allocation: str,
    strata: Sequence[int],
    group: int,
    groups: int,
) -> dict[str, Any]:
    """Draw the strata of one group from the stored snapshot (the ``draw_part`` task).

    Returns ``{"group", "strata", "selection"}`` (the part's ``Selection`` encoded). Any error
    other than a database one is raised as ``DrawPartError`` naming the group.
    """
    codes: list[int] = []
    labels: Sequence[str] | None = None
    try:
        if not isinstance(strata, list | tuple) or not strata:
            raise ValueError(f"strata must be a non-empty list of stratum codes, got {strata!r}")
        if any(isinstance(h, bool) or not isinstance(h, int) for h in strata):
            raise ValueError(f"strata must be whole numbers, got {list(strata)!r}")
        codes = sorted(set(strata))
        spec = decode_plan(plan)
        draw_key_bytes = _decode_key(key)
        whole = decode_allocation(allocation)
        targets = load_snapshot(session, _check_sha256(snapshot_sha256)).targets
        labels = targets.stratum_labels
        if codes[0] < 0 or codes[-1] >= len(labels):
            raise ValueError(
                f"strata {codes} do not exist: the snapshot has stratum codes 0..{len(labels) - 1}"
            )
        part_targets = targets.take(strata_rows(targets, codes))
        selection = draw_targets(
            key=draw_key_bytes,
            plan=spec,
            strata=codes,
            allocation=whole,
            **part_targets.selection_arrays(),
        )
    except SQLAlchemyError:
        raise  # the task retries transient database errors
    except Exception as exc:
        shown = codes or (list(strata) if isinstance(strata, list | tuple) else [])
        where = describe_group(group, groups, shown, labels)
        raise DrawPartError(f"{where} failed: {exc}") from exc
    return {"group": group, "strata": codes, "selection": encode_selection(selection)}


def merge_parts(
    session: Session,
    parts: Sequence[Mapping[str, Any]],
    *,
    snapshot_sha256: str,
    plan: Mapping[str, Any],
    key: str,
) -> dict[str, Any]:
    """Merge the parts' selections into the whole draw's (the ``merge_draw_parts`` task, kept
    for messages of an older client; the client now merges itself with ``merge_loaded``).

    Returns ``{"parts", "selection"}``; an error other than a database one is raised as
    ``DrawPartError``.
    """
    try:
        spec = decode_plan(plan)
        draw_key_bytes = _decode_key(key)
        targets = load_snapshot(session, _check_sha256(snapshot_sha256)).targets
    except SQLAlchemyError:
        raise
    except Exception as exc:
        raise DrawPartError(f"merging the {len(parts)} parts failed: {exc}") from exc
    merged = merge_loaded(parts, key=draw_key_bytes, plan=spec, targets=targets)
    return {"parts": len(parts), "selection": encode_selection(merged)}


def merge_loaded(
    parts: Sequence[Mapping[str, Any]], *, key: bytes, plan: PlanSpec, targets: TargetArrays
) -> Selection:
    """The whole draw's selection from the parts' results (``{"group", "selection"}``) and
    the snapshot's targets: ``merge_strata``, which maps each part's rows back and runs the
    global item-coverage step. Any error is raised as ``DrawPartError``."""
    try:
        ordered = sorted(parts, key=lambda part: int(part["group"]))
        selections = [decode_selection(part["selection"]) for part in ordered]
        return merge_strata(
            selections,
            key=key,
            plan=plan,
            targets=targets,
            rows=[strata_rows(targets, s.computed_strata) for s in selections],
        )
    except Exception as exc:
        raise DrawPartError(f"merging the {len(parts)} parts failed: {exc}") from exc


# --------------------------------------------------------------------------- the client


def distributed_selection(
    app: Celery,
    *,
    snapshot_sha256: str,
    plan: PlanSpec,
    seed: bytes,
    public_value: str | None,
    parts: int,
    timeout: float,
) -> Selection:
    """The draw's selection computed by the workers of ``app``: bit-identical to the
    selection of ``run_draw`` on the same snapshot, seed and public value.

    The snapshot must already be stored (``store_snapshot``) **and committed**: the workers,
    and this function, read it from the database by ``snapshot_sha256`` in their own
    transactions. Splits the strata into ``parts`` groups balanced by their number of targets,
    sends one ``draw_part`` task per group, waits up to ``timeout`` seconds for them (sending
    again a part lost with a killed worker, ``draw_in_parts``) and merges them here. Only the
    derived draw key crosses the broker, never the seed. Run ``finish_draw(...,
    selection=...)`` for teams and the report.

    Raises ``DistributedDrawError`` naming the failed stratum group (or the merge, or how far
    the draw got at the timeout), ``SnapshotMissingError`` when no committed snapshot has the
    SHA-256, and ValueError naming a bad argument.
    """
    _check_sha256(snapshot_sha256)
    if not isinstance(plan, PlanSpec):
        raise ValueError(f"plan must be a PlanSpec, got {type(plan).__name__}")
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValueError(f"parts must be a whole number >= 1, got {parts!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    key = draw_key(seed, public_value)
    with task_session(app) as session:
        try:
            targets = load_snapshot(session, snapshot_sha256).targets
        except SnapshotMissingError as exc:
            raise SnapshotMissingError(
                f"{exc}: store the snapshot and commit before a distributed draw "
                "(the workers read it from the database)"
            ) from exc
    allocation = draw_allocation(key=key, plan=plan, targets=targets)
    groups = balanced_groups(
        np.bincount(targets.stratum, minlength=len(targets.stratum_labels)), parts
    )
    if not groups:
        raise DistributedDrawError(f"candidate snapshot {snapshot_sha256} has no strata")
    return draw_in_parts(
        app,
        snapshot_sha256=snapshot_sha256,
        plan=plan,
        key=key,
        allocation=allocation,
        groups=groups,
        timeout=timeout,
        labels=targets.stratum_labels,
        targets=targets,
    )


def draw_in_parts(
    app: Celery,
    *,
    snapshot_sha256: str,
    plan: PlanSpec,
    key: bytes,
    allocation: Allocation,
    groups: Sequence[Sequence[int]],
    timeout: float,
    labels: Sequence[str] | None = None,
    targets: TargetArrays | None = None,
    stall_seconds: float | None = None,
) -> Selection:
    """Send one ``draw_part`` per stratum group (each stratum in exactly one), wait for them,
    sending again a part that a lost worker took with it, and merge them here.

    ``labels`` only make error messages clearer; ``targets`` (the snapshot's, already loaded)
    saves reading the snapshot again for the merge. ``stall_seconds`` (default: the setting
    ``suijian.draw.part_stall_seconds``, 30) is how long a part may be neither finished nor
    held by any worker that answers before it is sent again.
    """
    common = {"snapshot_sha256": snapshot_sha256, "plan": encode_plan(plan), "key": key.hex()}
    encoded_allocation = encode_allocation(allocation)
    calls = [
        {
            **common,
            "allocation": encoded_allocation,
            "strata": [int(h) for h in group],
            "group": index,
            "groups": len(groups),
        }
        for index, group in enumerate(groups)
    ]
    stall = part_stall_seconds(app) if stall_seconds is None else float(stall_seconds)
    parts = _Parts(app, calls, stall=stall, labels=labels)
    finished = False
    try:
        parts.send()
        answers = parts.wait(time.monotonic() + timeout)
        finished = True
    except _PartsTimeoutError as exc:
        # The parts' results stay (they expire after a day): drawing again reuses them.
        raise DistributedDrawError(_timed_out(timeout, exc.done, len(groups), stall)) from None
    except _PartFailedError as exc:
        finished = True
        raise _failure(exc.index, exc.cause, groups, labels) from exc.cause
    finally:
        if finished:
            parts.forget()
    try:
        if targets is not None:
            merged = merge_loaded(answers, key=key, plan=plan, targets=targets)
        else:
            with task_session(app) as session:
                loaded = load_snapshot(session, snapshot_sha256).targets
            merged = merge_loaded(answers, key=key, plan=plan, targets=loaded)
    except DrawPartError as exc:
        raise DistributedDrawError(f"distributed draw failed: {exc}") from exc
    return merged


def part_task_id(call: Mapping[str, Any]) -> str:
    """The task id of a part: the SHA-256 of its arguments (canonical JSON). A part is a pure
    function of its arguments, so one id, one result, however often the part is sent; the id
    says nothing about the draw key (a hash of it, among the other arguments)."""
    text = json.dumps(call, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "suijian-draw-part-" + hashlib.sha256(text.encode("ascii")).hexdigest()


def part_stall_seconds(app: Celery) -> float:
    """The setting ``suijian.draw.part_stall_seconds`` of ``app`` (default 30 s)."""
    settings = app.conf.get(SETTINGS_KEY) or {}
    value = settings.get("suijian.draw.part_stall_seconds")
    if value in (None, ""):
        return DEFAULT_PART_STALL_SECONDS
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"suijian.draw.part_stall_seconds must be a number of seconds, got {value!r}"
        ) from exc
    if not seconds > 0:
        raise ValueError(f"suijian.draw.part_stall_seconds must be positive, got {value!r}")
    return seconds


class _PartsTimeoutError(Exception):
    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


class _PartFailedError(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(index, cause)
        self.index = index
        self.cause = cause


class _Parts:
    """The parts of one draw on the workers: sent with content-addressed task ids, polled in
    the result backend, and sent again when lost.

    A part is lost when a worker was killed while it held the part (SIGKILL, power, the OOM
    killer on the machine): its message stays unacknowledged on the broker (Redis gives it
    back only after its visibility timeout, an hour). Every few seconds the workers are asked
    which of the unfinished parts they hold (``inspect().query_task``: running, reserved, or
    waiting for a retry). A part that was started (or is being retried) and that no answering
    worker holds, for ``stall`` seconds in a row, is sent again with the same id and
    arguments; so is a part never started that no worker holds while a worker is idle (the
    queue is empty, so it is not waiting there). No worker answering at all means "wait":
    nobody could run it anyway. A duplicate is harmless: the same arguments give the same
    bytes, and the result backend keeps the first success.
    """

    def __init__(
        self,
        app: Celery,
        calls: Sequence[Mapping[str, Any]],
        *,
        stall: float,
        labels: Sequence[str] | None,
    ) -> None:
        self.app = app
        self.calls = list(calls)
        self.ids = [part_task_id(call) for call in self.calls]
        self.results = [AsyncResult(task_id, app=app) for task_id in self.ids]
        self.stall = stall
        self.labels = labels
        self.answers: dict[int, dict[str, Any]] = {}
        self.sent_again = [0] * len(self.calls)
        self.unheld_since: dict[int, float] = {}
        self.check_every = max(1.0, min(5.0, stall / 3))

    def send(self) -> None:
        """Send every part, except one whose result is already stored (an earlier call for
        the same draw that timed out, the part finishing after it); a stored failure is
        dropped and the part tried again."""
        for index, result in enumerate(self.results):
            state = result.state
            if state == states.SUCCESS:
                continue
            if state in states.EXCEPTION_STATES:
                result.forget()
            self._send(index)

    def _send(self, index: int) -> None:
        self.app.send_task(DRAW_PART_TASK, kwargs=self.calls[index], task_id=self.ids[index])

    def wait(self, deadline: float) -> list[dict[str, Any]]:
        """Every part's result, in group order; ``_PartFailedError`` for the first part (by group)
        that failed, ``_PartsTimeoutError`` at the deadline."""
        next_check = time.monotonic() + self.check_every
        while True:
            waiting: dict[int, str] = {}
            for index, result in enumerate(self.results):
                if index in self.answers:
                    continue
                state = result.state
                if state == states.SUCCESS:
                    self.answers[index] = result.result
                elif state in states.PROPAGATE_STATES:
                    raise _PartFailedError(index, _cause(result))
                else:
                    waiting[index] = state
            if not waiting:
                return [self.answers[index] for index in range(len(self.calls))]
            now = time.monotonic()
            if now >= deadline:
                raise _PartsTimeoutError(len(self.answers))
            if now >= next_check:
                self._send_lost(waiting, now)
                next_check = time.monotonic() + self.check_every
            time.sleep(max(0.0, min(_POLL_SECONDS, deadline - time.monotonic())))

    def _send_lost(self, waiting: Mapping[int, str], now: float) -> None:
        held = _held_by_workers(self.app, [self.ids[index] for index in waiting])
        if held is None:  # no worker answers: nobody could run a part sent again
            self.unheld_since.clear()
            return
        known, idle = held
        for index, state in waiting.items():
            lost = self.ids[index] not in known and (state != states.PENDING or idle())
            if not lost:
                self.unheld_since.pop(index, None)
                continue
            since = self.unheld_since.setdefault(index, now)
            if now - since < self.stall or self.sent_again[index] >= MAX_SENT_AGAIN:
                continue
            self.sent_again[index] += 1
            self.unheld_since.pop(index, None)
            group = self.calls[index]
            log.warning(
                "distributed draw: %s (%s) held by no worker for %.1f s; sent again (%d of %d)",
                describe_group(index, len(self.calls), group["strata"], self.labels),
                state,
                now - since,
                self.sent_again[index],
                MAX_SENT_AGAIN,
            )
            self._send(index)

    def forget(self) -> None:
        """Drop the parts' results from the backend (they can be large)."""
        for result in self.results:
            try:
                result.forget()
            except Exception:  # forgetting is housekeeping: results expire anyway
                continue


def _held_by_workers(
    app: Celery, task_ids: Sequence[str]
) -> tuple[set[str], Callable[[], bool]] | None:
    """The ids among ``task_ids`` that some worker holds (running, reserved, or waiting for a
    retry) and a function telling whether some worker runs nothing; None when no worker
    answers (or the broker cannot be asked)."""
    inspect = app.control.inspect(timeout=_INSPECT_SECONDS)
    try:
        replies = inspect.query_task(*task_ids)
    except Exception:  # the broker is unreachable: as if no worker answered
        log.debug("distributed draw: asking the workers failed", exc_info=True)
        return None
    if not replies:
        return None
    known = {task_id for reply in replies.values() for task_id in (reply or {})}

    def idle() -> bool:
        try:
            active = app.control.inspect(timeout=_INSPECT_SECONDS).active() or {}
        except Exception:
            return False
        return any(not tasks for tasks in active.values())

    return known, functools.cache(idle)


def _cause(result: AsyncResult) -> BaseException:
    cause = result.result
    if isinstance(cause, BaseException):
        return cause
    return RuntimeError(f"{result.state}: {cause!r}")


def _timed_out(timeout: float, done: int, parts: int, stall: float) -> str:
    """Why a draw timed out, by how far it got: no part done, most likely no worker runs; some
    done, the others still run (a timeout too short), wait in the queue, or were lost with a
    stopped worker and wait to be sent again (``stall`` seconds after it was lost)."""
    if done == 0:
        return reason(
            "the distributed draw did not finish within ${timeout} s (${done} of ${parts} parts "
            "done): is a worker running ('suijian worker')?",
            timeout=f"{timeout:g}",
            done=done,
            parts=parts,
        )
    return reason(
        "the distributed draw did not finish within ${timeout} s (${done} of ${parts} parts "
        "done): the other parts are still running or waiting for a worker (a part lost with a "
        "stopped worker is sent again after ${stall} s); drawing again gives the same result "
        "and reuses the parts already done",
        timeout=f"{timeout:g}",
        done=done,
        parts=parts,
        stall=f"{stall:g}",
    )


def _failure(
    index: int,
    cause: BaseException,
    groups: Sequence[Sequence[int]],
    labels: Sequence[str] | None,
) -> DistributedDrawError:
    """The error to raise for the failed part ``index``."""
    message = str(cause)
    if not isinstance(cause, DrawPartError):  # e.g. a database error after retries
        where = describe_group(index, len(groups), list(groups[index]), labels)
        message = f"{where} failed: {type(cause).__name__}: {cause}"
    return DistributedDrawError(f"distributed draw failed: {message}")


__all__ = [
    "ALLOCATION_FORMAT",
    "DEFAULT_PART_STALL_SECONDS",
    "DRAW_PART_TASK",
    "MERGE_TASK",
    "SELECTION_FORMAT",
    "DistributedDrawError",
    "DrawPartError",
    "EncodingError",
    "balanced_groups",
    "compute_part",
    "decode_allocation",
    "decode_plan",
    "decode_selection",
    "describe_group",
    "distributed_selection",
    "draw_in_parts",
    "encode_allocation",
    "encode_plan",
    "encode_selection",
    "merge_loaded",
    "merge_parts",
    "part_stall_seconds",
    "part_task_id",
]
