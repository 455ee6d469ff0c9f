"""factory_boy factories for the registry; ``bind(session)`` points them at a test session."""

from __future__ import annotations

import datetime as dt
import random

import factory
from argon2 import PasswordHasher
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import models
from enforcement.demo.generate import generate
from enforcement.demo.load import load_demo
from enforcement.uscc import make_uscc


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class DepartmentFactory(_Base):
    class Meta:
        model = models.Department

    code = factory.Sequence(lambda n: f"DEPT{n:03d}")
    name = factory.Sequence(lambda n: f"市场监督管理局{n}")
    name_en = "Market Supervision Bureau"


class JurisdictionFactory(_Base):
    class Meta:
        model = models.Jurisdiction

    adcode = factory.Sequence(lambda n: f"{330700 + n % 100:06d}")
    name = factory.Sequence(lambda n: f"测试区{n}")
    level = models.JurisdictionLevel.COUNTY
    polygon = None


def _uscc(n: int) -> str:
    base8 = f"{random.Random(n).randrange(10**8):08d}"
    return make_uscc("9", "1", "330783", base8)


class EnterpriseFactory(_Base):
    class Meta:
        model = models.Enterprise

    uscc = factory.Sequence(_uscc)
    natural_key = factory.SelfAttribute("uscc")
    name = factory.Sequence(lambda n: f"东阳市测试贸易有限公司{n}")
    legal_representative = "张三"
    entity_type = models.EntityType.COMPANY
    industry_code = "F5212"
    registered_address = "浙江省东阳市吴宁街道测试路1号"
    status = models.EnterpriseStatus.IN_BUSINESS
    registration_date = dt.date(2015, 6, 1)
    extra = factory.LazyFunction(dict)


class InspectorFactory(_Base):
    class Meta:
        model = models.Inspector

    credential_no = factory.Sequence(lambda n: f"33078300{n:05d}")
    name = factory.Sequence(lambda n: f"检查员{n}")
    department = factory.SubFactory(DepartmentFactory)
    specialties = factory.LazyFunction(list)
    active = True


class InspectionItemFactory(_Base):
    class Meta:
        model = models.InspectionItem

    code = factory.Sequence(lambda n: f"SJ-{n:04d}")
    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"食品经营许可情况检查{n}")
    legal_basis = "《中华人民共和国食品安全法》第一百一十条"
    method = models.InspectionMethod.ON_SITE
    default_interval_months = 12


ALL = [
    DepartmentFactory,
    JurisdictionFactory,
    EnterpriseFactory,
    InspectorFactory,
    InspectionItemFactory,
]


def bind(session: Session) -> None:
    for factory_class in ALL:
        factory_class._meta.sqlalchemy_session = session


# Cheap argon2 parameters: the demo users' passwords are not what draw tests check.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def load_small_demo(session: Session, seed: int) -> Session:
    """The demo registry at a small size (300 enterprises, 30 inspectors), flushed."""
    load_demo(session, generate(seed, enterprises=300, inspectors=30), hasher=FAST_HASHER)
    session.flush()
    return session


def user_named(session: Session, username: str) -> models.User:
    user = session.scalar(select(models.User).where(models.User.username == username))
    assert user is not None, f"no user {username!r}"
    return user
