"""``request.dbsession``: one SQLAlchemy session per request, joined to pyramid_tm."""

from __future__ import annotations

import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from enforcement.db import engine_from_settings, session_factory
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


def engine(request: Request) -> Engine:
    return request.registry[ENGINE_KEY]


def includeme(config: Configurator) -> None:
    # Built once per process; sessions are per request.
    built = engine_from_settings(config.get_settings())
    config.registry[ENGINE_KEY] = built
    config.registry[SESSIONS_KEY] = session_factory(built)
    config.add_request_method(_dbsession, "dbsession", reify=True)
