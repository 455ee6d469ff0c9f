"""The feed to the supervision data center (监管数据中心): what changed, delivered exactly once.

``publish`` writes a versioned record in the caller's transaction; a Celery worker
(``enforcement.tasks.deliver_feed``, kicked after the commit and scheduled every few seconds)
``deliver``s due records in HMAC-signed batches to ``DATA_CENTER_URL``; failures back off
exponentially with jitter and end on the dead-letter list, which supervisors see and
``requeue``; ``reconcile`` compares what was delivered with what the receiver holds.
See docs/feed.md.
"""

from enforcement.feed.client import (
    FeedClient,
    FeedError,
    FeedNotConfiguredError,
    FeedSettings,
    RetryPolicy,
    Summary,
)
from enforcement.feed.delivery import (
    DeliveryResult,
    Reconciliation,
    batch_body,
    deliver,
    deliver_until_idle,
    delivered_keys,
    reconcile,
)
from enforcement.feed.records import (
    DELIVER_TASK,
    FeedStatus,
    dead_letters,
    publish,
    requeue,
    resend,
    status,
)

__all__ = [
    "DELIVER_TASK",
    "DeliveryResult",
    "FeedClient",
    "FeedError",
    "FeedNotConfiguredError",
    "FeedSettings",
    "FeedStatus",
    "Reconciliation",
    "RetryPolicy",
    "Summary",
    "batch_body",
    "dead_letters",
    "deliver",
    "deliver_until_idle",
    "delivered_keys",
    "publish",
    "reconcile",
    "requeue",
    "resend",
    "status",
]
