"""The reference receiver as a plain WSGI application (no framework: it stands for someone
else's server, and ``enforcement`` does not import the web framework).

    POST /records (or /)   a signed batch -> {"accepted": [keys], "rejected": {key: reason}}
    GET  /summary[?keys=1] -> {"count", "digest"[, "keys": {key: payload_sha256}]}
    GET  /records[?kind=]  -> {"records": [...]}
    GET  /health           -> {"ok": true} (unsigned)

Batches are signed over their exact body, GETs over their exact query string (docs/feed.md);
a bad or missing signature answers 401. Fault knobs for tests and stress runs: ``delay``
(seconds before answering a batch), ``fail_every`` (every Nth batch answers 503 and stores
nothing), ``lose_every`` (every Nth batch is stored, then answers 503: a lost
acknowledgement) and ``fail_status`` (the status of those injected failures, 503 unless told:
500, 502 or 504 stand for other broken servers and gateways). They are plain attributes, so a
test may change them while serving.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from enforcement.datacenter.store import Store
from enforcement.feed.signing import verify

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024
StartResponse = Callable[..., Any]
_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout",
}
FAULT_STATUSES = (500, 502, 503, 504)


class Receiver:
    def __init__(
        self,
        store: Store,
        secret: str,
        *,
        delay: float = 0.0,
        fail_every: int = 0,
        lose_every: int = 0,
        fail_status: int = 503,
    ) -> None:
        if not secret:
            raise ValueError("secret: the receiver needs the shared secret")
        if fail_status not in FAULT_STATUSES:
            raise ValueError(f"fail_status: one of {FAULT_STATUSES}, not {fail_status!r}")
        self.store = store
        self.secret = secret
        self.delay = delay
        self.fail_every = fail_every
        self.lose_every = lose_every
        self.fail_status = fail_status
        self.batches = 0  # batches seen with a good signature
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
        try:
            if path in ("/", "/records") and method == "POST":
                status, answer = self.receive(environ)
            elif path == "/records" and method == "GET":
                status, answer = self.signed_get(environ, self.list_records)
            elif path == "/summary" and method == "GET":
                status, answer = self.signed_get(environ, self.summary)
            elif path == "/health" and method == "GET":
                status, answer = 200, {"ok": True}
            elif path in ("/", "/records", "/summary", "/health"):
                status, answer = 405, {"error": "method not allowed"}
            else:
                status, answer = 404, {"error": "not found"}
        except Exception:  # a reference program: log it, answer 503 so the sender retries
            log.exception("receiver error")
            status, answer = 503, {"error": "internal error"}
        body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        start_response(
            _STATUS[status],
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def receive(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, {"error": "bad Content-Length"}
        if length > MAX_BODY:
            return 413, {"error": "batch too large"}
        body = environ["wsgi.input"].read(length) if length else b""
        if not verify(body, self.secret, environ.get("HTTP_X_SUIJIAN_SIGNATURE")):
            return 401, {"error": "bad signature"}
        with self._lock:
            self.batches += 1
            number = self.batches
        if self.delay:
            time.sleep(self.delay)
        if self.fail_every and number % self.fail_every == 0:
            return self.fail_status, {"error": "injected failure"}
        try:
            document = json.loads(body)
            records = document["records"]
            if not isinstance(records, list):
                raise TypeError("records is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": f"bad batch: {exc}"}
        accepted, rejected = self.store.store(records)
        if self.lose_every and number % self.lose_every == 0:
            return self.fail_status, {"error": "injected failure after storing"}
        return 200, {"accepted": accepted, "rejected": rejected}

    def signed_get(
        self, environ: dict[str, Any], answer: Callable[[dict[str, list[str]]], dict[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        query = environ.get("QUERY_STRING", "")
        if not verify(query.encode("utf-8"), self.secret, environ.get("HTTP_X_SUIJIAN_SIGNATURE")):
            return 401, {"error": "bad signature"}
        return 200, answer(parse_qs(query))

    def summary(self, query: dict[str, list[str]]) -> dict[str, Any]:
        return self.store.summary(keys=query.get("keys", ["0"])[0] in ("1", "true", "yes"))

    def list_records(self, query: dict[str, list[str]]) -> dict[str, Any]:
        return {"records": self.store.records(query.get("kind", [None])[0])}


__all__ = ["Receiver"]
