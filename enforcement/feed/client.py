"""The HTTP side of the feed: settings, the retry policy and the client of the data center."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from enforcement.feed.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    batch_key,
    sign,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_BATCH = 500
DEFAULT_BACKOFF = 2.0
DEFAULT_BACKOFF_CAP = 600.0
# 40 tries ride out an outage of the data center of an hour or two: the 39 waits before the
# 40th failure (each uniform under a ceiling doubling from 2 s to the 600 s cap) last 9,500 s
# on average (2.6 hours; under 1 hour with a probability below 1e-9). With 8, a record was
# dead-lettered after about 2 minutes of outage (127 s on average, 254 s at most), and the
# whole backlog waited for a person to re-queue it after the data center came back
# (tests/enforcement/test_faults_datacenter.py, docs/reliability.md).
DEFAULT_MAX_ATTEMPTS = 40


class FeedError(RuntimeError):
    """The data center could not be reached or gave an answer we cannot use."""


class FeedNotConfiguredError(FeedError):
    """No data center URL is configured: the feed waits (records stay pending)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter: a failed record waits a random time in
    ``[0, min(cap, base * 2 ** (attempts - 1))]``, and is dead-lettered at ``max_attempts``."""

    base_seconds: float = DEFAULT_BACKOFF
    cap_seconds: float = DEFAULT_BACKOFF_CAP
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def ceiling(self, attempts: int) -> float:
        """The longest wait after the ``attempts``-th failure (1 for the first)."""
        exponent = min(max(attempts, 1) - 1, 62)  # 2**62 s is past any cap; avoids overflow
        return min(self.cap_seconds, self.base_seconds * 2.0**exponent)

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        # Full jitter ("Exponential Backoff And Jitter", AWS architecture blog): senders
        # that failed together do not come back together.
        return (rng or _rng).uniform(0.0, self.ceiling(attempts))


_rng = random.SystemRandom()


@dataclass(frozen=True)
class FeedSettings:
    url: str | None
    secret: str
    timeout: float = DEFAULT_TIMEOUT
    batch_size: int = DEFAULT_BATCH
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    summary_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FeedSettings:
        """Read ``data_center.url`` (env DATA_CENTER_URL; ``suijian.feed.url`` is accepted as
        a fallback) and the ``suijian.feed.*`` keys; see docs/feed.md."""

        def get(key: str, default: Any) -> Any:
            value = settings.get(key)
            return default if value is None or str(value).strip() == "" else value

        url = get("data_center.url", None) or get("suijian.feed.url", None)
        return cls(
            url=str(url).strip() if url else None,
            secret=str(get("suijian.feed.secret", "")),
            timeout=float(get("suijian.feed.timeout_seconds", DEFAULT_TIMEOUT)),
            batch_size=int(get("suijian.feed.batch_size", DEFAULT_BATCH)),
            policy=RetryPolicy(
                base_seconds=float(get("suijian.feed.backoff_seconds", DEFAULT_BACKOFF)),
                cap_seconds=float(get("suijian.feed.backoff_cap_seconds", DEFAULT_BACKOFF_CAP)),
                max_attempts=int(get("suijian.feed.max_attempts", DEFAULT_MAX_ATTEMPTS)),
            ),
            summary_url=get("suijian.feed.summary_url", None),
        )


@dataclass(frozen=True)
class Summary:
    """What the receiver holds: how many records, their digest, and (if asked) their keys."""

    count: int
    digest: str
    keys: dict[str, str] | None = None  # idempotency_key -> payload_sha256


class FeedClient:
    """Posts signed batches to the data center and reads its summary.

    ``url`` is the batch endpoint (``POST``). The summary is at ``summary_url``, by default
    the batch URL with a trailing ``/records`` replaced by ``/summary`` (the reference
    receiver's layout, docs/feed.md).
    """

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        policy: RetryPolicy | None = None,
        batch_size: int = DEFAULT_BATCH,
        summary_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.summary_url = summary_url
        self.secret = secret
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self._http = httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FeedClient:
        feed = FeedSettings.from_settings(settings)
        return cls(
            feed.url,
            feed.secret,
            timeout=feed.timeout,
            policy=feed.policy,
            batch_size=feed.batch_size,
            summary_url=feed.summary_url,
        )

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def _require_url(self) -> str:
        if not self.url:
            raise FeedNotConfiguredError("no data center URL (set DATA_CENTER_URL)")
        return self.url

    def post_batch(self, body: bytes, keys: Sequence[str]) -> dict[str, Any]:
        """POST one batch; returns the receiver's JSON answer. Raises :class:`FeedError` for
        anything but a 2xx JSON object (connection errors, timeouts, 4xx, 5xx)."""
        url = self._require_url()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(body, self.secret),
            TIMESTAMP_HEADER: str(int(time.time())),
            IDEMPOTENCY_HEADER: batch_key(keys),
        }
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise FeedError(f"{type(exc).__name__}: {exc}") from exc
        return _json_object(response)

    def summary(self, *, keys: bool = False) -> Summary:
        """The receiver's count and digest (and, with ``keys``, every key and payload hash)."""
        answer = self.get(
            self.summary_url or summary_url(self._require_url()), "keys=1" if keys else ""
        )
        try:
            found = answer.get("keys")
            return Summary(
                count=int(answer["count"]),
                digest=str(answer["digest"]),
                keys={str(k): str(v) for k, v in found.items()} if found is not None else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FeedError(f"bad summary from the data center: {exc!r}") from exc

    def get(self, url: str, query: str = "") -> dict[str, Any]:
        """A signed GET: the signature covers the exact query string (empty for none)."""
        headers = {
            SIGNATURE_HEADER: sign(query.encode("utf-8"), self.secret),
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        try:
            response = self._http.get(f"{url}?{query}" if query else url, headers=headers)
        except httpx.HTTPError as exc:
            raise FeedError(f"{type(exc).__name__}: {exc}") from exc
        return _json_object(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def summary_url(url: str) -> str:
    base = url.rstrip("/")
    if base.endswith("/records"):
        base = base[: -len("/records")]
    return base + "/summary"


def _json_object(response: httpx.Response) -> dict[str, Any]:
    if not response.is_success:
        text = response.text[:200].replace("\n", " ")
        raise FeedError(f"HTTP {response.status_code} from the data center: {text}")
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FeedError(f"the data center's answer is not JSON: {exc}") from exc
    if not isinstance(answer, dict):
        raise FeedError("the data center's answer is not a JSON object")
    return answer


__all__ = [
    "FeedClient",
    "FeedError",
    "FeedNotConfiguredError",
    "FeedSettings",
    "RetryPolicy",
    "Summary",
]
