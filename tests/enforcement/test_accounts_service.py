"""AccountService: password check, failure count, the 15-minute lock, rehash on sign-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import security
from enforcement.models import Role, User
from enforcement.security import hash_password
from enforcement.services.accounts import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AccountLockedError,
    AccountService,
    InvalidCredentialsError,
)

PASSWORD = "correct horse battery staple"
START = dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(db_session: Session, clock: Clock) -> AccountService:
    return AccountService(db_session, clock=clock)


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., User]:
    def make(username: str = "wangfang", password_hash: str | None = None, **fields: Any) -> User:
        user = User(
            username=username,
            display_name=username.title(),
            role=fields.pop("role", Role.INSPECTOR),
            password_hash=password_hash or hash_password(PASSWORD),
            **fields,
        )
        db_session.add(user)
        db_session.commit()
        return user

    return make


@pytest.fixture
def dummy_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each dummy verification; the real one still runs (and costs its time)."""
    calls: list[str] = []
    real = security.dummy_verify

    def spy(password: str) -> None:
        calls.append(password)
        real(password)

    monkeypatch.setattr(security, "dummy_verify", spy)
    return calls


def stored(session: Session, username: str) -> User:
    """The row as written: flushed and read back, not the identity map's copy."""
    session.commit()
    session.expire_all()
    return session.scalars(select(User).where(User.username == username)).one()


def fail(accounts: AccountService, username: str, times: int) -> None:
    for attempt in range(times):
        with pytest.raises(InvalidCredentialsError):
            accounts.authenticate(username, f"guess {attempt}")


def test_correct_password_returns_the_user(accounts, make_user, db_session) -> None:
    user = make_user()
    assert accounts.authenticate("wangfang", PASSWORD) is user
    row = stored(db_session, "wangfang")
    assert row.failed_logins == 0 and row.locked_until is None


def test_username_is_matched_exactly(accounts, make_user) -> None:
    make_user()
    with pytest.raises(InvalidCredentialsError):
        accounts.authenticate("WangFang", PASSWORD)


def test_wrong_password_counts_a_failure(accounts, make_user, db_session) -> None:
    make_user()
    fail(accounts, "wangfang", 1)
    assert stored(db_session, "wangfang").failed_logins == 1
    fail(accounts, "wangfang", 2)
    row = stored(db_session, "wangfang")
    assert row.failed_logins == 3 and row.locked_until is None


def test_success_clears_the_failure_count(accounts, make_user, db_session) -> None:
    make_user()
    fail(accounts, "wangfang", MAX_FAILED_LOGINS - 1)
    accounts.authenticate("wangfang", PASSWORD)
    assert stored(db_session, "wangfang").failed_logins == 0
    # The count starts again from zero: four more failures still do not lock.
    fail(accounts, "wangfang", MAX_FAILED_LOGINS - 1)
    assert stored(db_session, "wangfang").locked_until is None


def test_fifth_failure_locks_for_15_minutes(accounts, make_user, db_session, clock) -> None:
    assert MAX_FAILED_LOGINS == 5
    assert LOCKOUT.total_seconds() == 15 * 60
    make_user()
    fail(accounts, "wangfang", 4)
    clock.advance(dt.timedelta(minutes=3))  # the lock runs from the fifth failure
    with pytest.raises(AccountLockedError) as locked:
        accounts.authenticate("wangfang", "guess 5")
    expected = START + dt.timedelta(minutes=18)
    assert locked.value.until == expected
    row = stored(db_session, "wangfang")
    assert row.locked_until == expected and row.failed_logins == 0


def test_locked_account_refuses_the_right_password_until_the_lock_expires(
    accounts, make_user, db_session, clock, dummy_verifications
) -> None:
    make_user()
    fail(accounts, "wangfang", 4)
    with pytest.raises(AccountLockedError):
        accounts.authenticate("wangfang", "guess 5")
    until = START + LOCKOUT

    clock.advance(LOCKOUT - dt.timedelta(seconds=1))
    for password in (PASSWORD, "wrong"):
        with pytest.raises(AccountLockedError) as refused:
            accounts.authenticate("wangfang", password)
        assert refused.value.until == until
    # Refusals while locked cost a verification but neither count nor extend the lock.
    assert dummy_verifications == [PASSWORD, "wrong"]
    row = stored(db_session, "wangfang")
    assert row.locked_until == until and row.failed_logins == 0

    clock.advance(dt.timedelta(seconds=1))  # exactly at ``until`` the lock is over
    assert accounts.authenticate("wangfang", PASSWORD).username == "wangfang"
    row = stored(db_session, "wangfang")
    assert row.locked_until is None and row.failed_logins == 0


def test_unknown_user_costs_a_dummy_verification(accounts, make_user, dummy_verifications) -> None:
    make_user()
    with pytest.raises(InvalidCredentialsError) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    assert type(unknown.value) is InvalidCredentialsError
    assert dummy_verifications == [PASSWORD]
    # A wrong password for a real user raises exactly the same thing.
    with pytest.raises(InvalidCredentialsError) as wrong:
        accounts.authenticate("wangfang", "wrong")
    assert type(wrong.value) is type(unknown.value)
    assert str(wrong.value) == str(unknown.value)


def test_inactive_user_is_refused_like_an_unknown_one(
    accounts, make_user, db_session, dummy_verifications
) -> None:
    make_user(active=False)
    with pytest.raises(InvalidCredentialsError):
        accounts.authenticate("wangfang", PASSWORD)
    assert dummy_verifications == [PASSWORD]
    assert stored(db_session, "wangfang").failed_logins == 0


def test_outdated_hash_is_upgraded_on_sign_in(accounts, make_user, db_session) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    make_user(password_hash=weak)
    accounts.authenticate("wangfang", PASSWORD)
    upgraded = stored(db_session, "wangfang").password_hash
    assert upgraded != weak
    # The "m=...,t=...,p=..." field of the PHC string now has the current parameters.
    assert upgraded.split("$")[3] == hash_password("x").split("$")[3] != "m=8,t=1,p=1"
    assert security.verify_password(upgraded, PASSWORD).ok
    assert accounts.authenticate("wangfang", PASSWORD).password_hash == upgraded


def test_current_hash_is_left_alone(accounts, make_user, db_session) -> None:
    original = make_user().password_hash
    accounts.authenticate("wangfang", PASSWORD)
    assert stored(db_session, "wangfang").password_hash == original
