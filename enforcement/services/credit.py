"""Credit ratings in the product: rating enterprises, their history, and who may see what.

``RatingService.rate`` computes the indicators (``credit_indicators``), scores them with the
scorecards of ``credit_rating`` (the general card plus the industry card chosen by the
industry code) and stores the result: the enterprise's current tier and score, and a
``credit_ratings`` row whenever the score, the tier or the scorecard changed, so those rows
are the enterprise's history. Every such change is audit-logged (``credit.tier_change``
when the tier moved, else ``credit.rate``), one bulk insert per batch. Ratings run for
everybody (the scheduled batch), for some enterprises after an event (outbox topic
``credit.rerate``), or by hand (``suijian credit rate``).

Visibility (``credit_profile``): supervisors and administrators see everything; an
enterprise sees its own tier, score band, reasons and history; the public sees tiers only
when ``suijian.publish_tiers`` is on, and never scores or reasons.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import bulkwrite
from enforcement.models import (
    CreditRating,
    Enterprise,
    RatingCause,
    Role,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit
from enforcement.services.credit_indicators import (
    IndicatorFrame,
    compute_indicators,
    flagged_representatives,
    id_filter,
)
from enforcement.services.credit_scoring import ScoredBatch, score_frame

SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_SIZE = 20_000  # enterprises scored and written per round trip
SCORE_BAND = 50  # an enterprise sees its score as a band of this width
MAX_REASONS = 3
_CHANGED = 1e-9


class CreditNotVisibleError(LookupError):
    """The viewer may not see this enterprise's credit (told apart from nothing else)."""


@dataclass
class RatingSummary:
    rated: int = 0
    changed: int = 0  # history rows written
    tier_changes: int = 0
    tiers: dict[str, int] = field(default_factory=lambda: dict.fromkeys("ABCD", 0))


class RatingService:
    """Rates enterprises as ``actor`` (None: the system itself, e.g. the nightly batch)."""

    def __init__(
        self,
        session: Session,
        actor: User | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def rate(
        self,
        enterprise_ids: Sequence[int] | None = None,
        *,
        cause: RatingCause | str = RatingCause.MANUAL,
        detail: str = "",
    ) -> RatingSummary:
        """Rate ``enterprise_ids`` (everybody when None) as of now; idempotent."""
        cause = RatingCause(cause)
        now = self.clock()
        as_of = now.astimezone(SHANGHAI).date()
        ids = (
            list(self.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
            if enterprise_ids is None
            else sorted({int(i) for i in enterprise_ids})
        )
        summary = RatingSummary()
        flagged = flagged_representatives(self.session, as_of)  # once, not once per batch
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            frame = compute_indicators(self.session, as_of, chunk, flagged)
            scored = score_frame(frame)
            self._store(frame, scored, cause, detail[:200], now, summary)
        self.session.flush()
        return summary

    def _store(
        self,
        frame: IndicatorFrame,
        scored: ScoredBatch,
        cause: RatingCause,
        detail: str,
        now: dt.datetime,
        summary: RatingSummary,
    ) -> None:
        ids = frame.enterprise_id.tolist()
        current = {
            row.id: row
            for row in self.session.execute(
                select(
                    Enterprise.id,
                    Enterprise.credit_tier,
                    Enterprise.credit_score,
                ).where(id_filter(Enterprise.id, ids))
            )
        }
        last_card = dict(
            self.session.execute(
                select(CreditRating.enterprise_id, CreditRating.scorecard)
                .where(id_filter(CreditRating.enterprise_id, ids))
                .order_by(CreditRating.enterprise_id, CreditRating.rated_at, CreditRating.id)
            ).all()
        )  # the last row of each enterprise wins
        updates: list[dict[str, Any]] = []
        ratings: list[dict[str, Any]] = []
        audits: list[tuple[str, str, str, dict[str, Any]]] = []
        for i, enterprise_id in enumerate(ids):
            tier = scored.tier[i]
            score = float(scored.score[i])
            summary.rated += 1
            summary.tiers[tier] += 1
            before = current[enterprise_id]
            same = (
                before.credit_tier == tier
                and before.credit_score is not None
                and math.isclose(before.credit_score, score, abs_tol=_CHANGED)
                and last_card.get(enterprise_id) == scored.scorecard[i]
            )
            if same:
                continue
            summary.changed += 1
            updates.append(
                {
                    "id": enterprise_id,
                    "credit_tier": tier,
                    "credit_score": score,
                    "credit_rated_at": now,
                    "updated_at": now,
                }
            )
            ratings.append(
                {
                    "enterprise_id": enterprise_id,
                    "scorecard": scored.scorecard[i],
                    "score": score,
                    "tier": tier,
                    "previous_tier": before.credit_tier,
                    "reasons": scored.reasons[i][:MAX_REASONS],
                    "indicators": frame.row(i),
                    "cause": cause,
                    "cause_detail": detail,
                    "rated_at": now,
                }
            )
            # The full-process record: one audit row per enterprise whose rating changed.
            if before.credit_tier is not None and before.credit_tier != tier:
                summary.tier_changes += 1
                action = "credit.tier_change"
                details = {"from": before.credit_tier, "to": tier}
            else:
                action = "credit.rate"
                details = {
                    "tier": tier,
                    "previous_tier": before.credit_tier,
                    "score": score,
                    "previous_score": before.credit_score,
                    "scorecard": scored.scorecard[i],
                }
            details |= {"cause": cause.value, "detail": detail}
            audits.append((action, Enterprise.__tablename__, str(enterprise_id), details))
        if ratings:
            # Set-based writes (COPY on PostgreSQL), not one statement per enterprise.
            bulkwrite.insert_rows(self.session, CreditRating.__table__, ratings)
            bulkwrite.update_rows(self.session, Enterprise.__table__, updates)
            bulkwrite.expire_loaded(self.session, Enterprise, updates)
            audit.record_many(self.session, self.actor, audits, at=now)
        self.session.flush()


# ---------------------------------------------------------------------- visibility


def credit_profile(
    session: Session, viewer: User | None, enterprise: Enterprise, *, public_tiers: bool
) -> dict[str, Any]:
    """What ``viewer`` may see of ``enterprise``'s credit; ``CreditNotVisibleError`` if
    nothing. None is the public (not signed in)."""
    role = None if viewer is None else Role(viewer.role)
    full = role in (Role.SUPERVISOR, Role.ADMIN) or (
        role is Role.ENTERPRISE and viewer is not None and viewer.enterprise_id == enterprise.id
    )
    if full:
        return full_credit_profile(session, enterprise)
    if public_tiers and enterprise.credit_tier is not None:
        return {
            "enterprise": _identity(enterprise),
            "tier": enterprise.credit_tier,
            "rated_at": _when(enterprise.credit_rated_at),
        }
    raise CreditNotVisibleError(
        reason("the credit of enterprise ${number} is not visible", number=enterprise.id)
    )


def score_band(score: float | None) -> str | None:
    if score is None:
        return None
    low = int(math.floor(score / SCORE_BAND) * SCORE_BAND)
    return f"{low}–{low + SCORE_BAND - 1}"


def full_credit_profile(session: Session, enterprise: Enterprise) -> dict[str, Any]:
    history = list(
        session.scalars(
            select(CreditRating)
            .where(CreditRating.enterprise_id == enterprise.id)
            .order_by(CreditRating.rated_at.desc(), CreditRating.id.desc())
        )
    )
    latest = history[0] if history else None
    return {
        "enterprise": _identity(enterprise),
        "tier": enterprise.credit_tier,
        "score_band": score_band(enterprise.credit_score),
        "rated_at": _when(enterprise.credit_rated_at),
        "scorecard": latest.scorecard if latest else None,
        "reasons": latest.reasons if latest else [],
        "history": [
            {
                "tier": row.tier,
                "score_band": score_band(row.score),
                "scorecard": row.scorecard,
                "cause": row.cause.value,
                "rated_at": _when(row.rated_at),
            }
            for row in history
        ],
    }


def _identity(enterprise: Enterprise) -> dict[str, Any]:
    return {"id": enterprise.id, "name": enterprise.name, "uscc": enterprise.uscc}


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


__all__ = [
    "CreditNotVisibleError",
    "RatingService",
    "RatingSummary",
    "credit_profile",
    "full_credit_profile",
    "score_band",
]
