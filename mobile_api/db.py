"""``request.dbsession``: one SQLAlchemy session per request, joined to pyramid_tm."""

from __future__ import annotations

import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request
from pyramid_retry import mark_error_retryable
from sqlalchemy import Engine
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from enforcement.db import engine_from_settings, session_factory, stale_snapshot
from enforcement.outbox import CELERY_APP_INFO
from mobile_api.queue import CELERY_KEY

ENGINE_KEY = "sqlalchemy.engine"
SESSIONS_KEY = "dbsession_factory"


def _dbsession(request: Request) -> Session:
    session = request.registry[SESSIONS_KEY]()
    # A commit that published outbox messages kicks a worker through the app's client.
    session.info[CELERY_APP_INFO] = request.registry[CELERY_KEY]
    # pyramid_tm commits or aborts it at the end of the request; nothing else commits.
    zope.sqlalchemy.register(session, transaction_manager=request.tm)
    request.add_finished_callback(lambda _request: session.close())
    return session


#: What an error page or envelope reads of the signed-in user (name, menus, language).
_IDENTITY_ATTRIBUTES = ("id", "role", "display_name", "enterprise_id", "locale")


def identity_from_memory(request: Request) -> None:
    """Make sure rendering an error does not touch the database.

    An error view runs when the database may be the failure: down, or (on PostgreSQL) in a
    transaction aborted by the error, where any query fails again. The page layout and the
    language negotiation read ``request.identity``, which loads the user unless this request
    did already. Keep the user only if it is loaded with everything the error needs in
    memory; otherwise the error is rendered for nobody (no name, the anonymous menu).
    """
    policy = request.registry.queryUtility(ISecurityPolicy)
    cache = getattr(policy, "identity_cache", None)
    if cache is None:
        return
    user = cache.get(request, None)
    if user is not None:
        state = sa_inspect(user, raiseerr=False)
        unloaded = state.unloaded if state is not None else set()
        if not any(name in unloaded for name in _IDENTITY_ATTRIBUTES):
            return
    cache.set(request, None)


def retry_if_stale(exc: BaseException) -> None:
    """Have pyramid_retry run the request again (up to ``retry.attempts``) when SQLite refused
    its first write because another request committed since it began reading: ``busy_timeout``
    does not wait for that, a fresh transaction succeeds. An error view calls this before it
    answers; on the last attempt its answer (503, ``Retry-After``) stands."""
    if stale_snapshot(exc):
        mark_error_retryable(exc)


def engine(request: Request) -> Engine:
    return request.registry[ENGINE_KEY]


def includeme(config: Configurator) -> None:
    # Built once per process; sessions are per request.
    built = engine_from_settings(config.get_settings())
    config.registry[ENGINE_KEY] = built
    config.registry[SESSIONS_KEY] = session_factory(built)
    config.add_request_method(_dbsession, "dbsession", reify=True)
