"""``suijian user add | passwd | list | deactivate | activate | unlock`` on a real database of
each backend: refusals name the field and the reason and leave nothing behind (exit 1); what
the commands write is what ``AccountService.authenticate`` then accepts or refuses; every
change is in the audit log without an actor (the command line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    AuditLog,
    Department,
    Enterprise,
    EntityType,
    Inspector,
    Role,
    User,
)
from enforcement.services.accounts import (
    MAX_FAILED_LOGINS,
    AccountLockedError,
    AccountService,
    InvalidCredentialsError,
)
from enforcement.services.tokens import TokenService
from enforcement.settings import ENV_OVERRIDES
from enforcement.uscc import make_uscc

GOOD = "绿茶-检查-2025-西湖"
OTHER = "a new long passphrase"
USCC = make_uscc("9", "1", "330783", "20250101")


@dataclass
class Cli:
    ini: Path
    engine: Engine
    runner: CliRunner

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        result = self.runner.invoke(main, ["-c", str(self.ini), *args], input=input)
        assert result.exit_code == code, result.output
        return result

    def authenticate(self, username: str, password: str) -> User:
        """A sign-in as the pages and the API do it (the failure count is committed)."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                return AccountService(session).authenticate(username, password)
            finally:
                session.commit()

    def user(self, username: str) -> User | None:
        with Session(self.engine) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is not None:
                session.expunge(user)
            return user

    def audit_actions(self, username: str) -> list[tuple[str, int | None]]:
        with Session(self.engine) as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
            rows = session.execute(
                select(AuditLog.action, AuditLog.actor_id)
                .where(AuditLog.entity_type == "users", AuditLog.entity_id == str(user_id))
                .order_by(AuditLog.id)
            )
            return [tuple(row) for row in rows]


@pytest.fixture
def cli(
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url.replace('%', '%%')}\n",
        encoding="utf-8",
    )
    with Session(engine) as session:
        department = Department(code="DY-SJ", name="东阳市市场监督管理局")
        session.add_all(
            [
                department,
                Department(code="DY-ZF", name="东阳市综合行政执法局"),
                Inspector(credential_no="33078300000001", name="王芳", department=department),
                Enterprise(
                    name="东阳市示范餐饮有限公司",
                    uscc=USCC,
                    natural_key=USCC,
                    entity_type=EntityType.COMPANY,
                ),
            ]
        )
        session.commit()
    yield Cli(ini, engine, CliRunner())
    engine.dispose()


def test_add_refuses_a_weak_password_naming_the_reason(cli: Cli) -> None:
    result = cli(
        "user", "add", "zhaoli", "--role", "admin", "--password-stdin",
        input="Password2024!\n", code=1,
    )  # fmt: skip
    assert "password: is one of the most common passwords; choose another" in result.output
    result = cli("user", "add", "zhaoli", "--role", "admin", input="short\nshort\n", code=1)
    assert "password: must be at least 12 characters" in result.output
    # Every refused field at once, the command line's before the password is asked for.
    result = cli("user", "add", "zhaoli", "--role", "pilot", "--locale", "fr", code=1)
    assert "role: must be one of inspector, supervisor, enterprise, liaison, admin" in result.output
    assert "locale: must be one of zh_CN, en" in result.output
    assert "Password" not in result.output
    result = cli(
        "user", "add", "x" * 65, "--role", "admin", "--display-name", "",
        "--password-stdin", input="x" * 65 + "\n", code=1,
    )  # fmt: skip
    for line in (
        "username: must be 1 to 64 characters",
        "display_name: must be 1 to 100 characters",
        "password: is a repeated or consecutive run of characters; choose another",
    ):
        assert line in result.output
    with Session(cli.engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_the_prompt_asks_twice_and_never_echoes(cli: Cli) -> None:
    result = cli(
        "user", "add", "zhaoli", "--role", "admin", input=f"{GOOD}\n{OTHER}\n{GOOD}\n{GOOD}\n"
    )
    assert "Error: The two entered values do not match." in result.output
    assert GOOD not in result.output and OTHER not in result.output
    assert cli.authenticate("zhaoli", GOOD).role is Role.ADMIN


def test_add_then_sign_in(cli: Cli) -> None:
    result = cli(
        "user", "add", "wangfang", "--role", "inspector", "--inspector", "33078300000001",
        "--display-name", "王芳", "--locale", "en", "--password-stdin", input=f"{GOOD}\n",
    )  # fmt: skip
    assert "account wangfang (inspector) created" in result.output
    user = cli.authenticate("wangfang", GOOD)
    assert (user.display_name, user.locale, user.active) == ("王芳", "en", True)
    with Session(cli.engine) as session:
        inspector = session.scalar(select(Inspector))
        assert user.inspector_id == inspector.id
        assert user.department_id == inspector.department_id  # the inspector's, by default
    with pytest.raises(InvalidCredentialsError):
        cli.authenticate("wangfang", GOOD + "x")
    assert cli.audit_actions("wangfang") == [("account.create", None)]

    again = cli(
        "user", "add", "li", "--role", "inspector", "--inspector", "33078300000001", code=1
    )  # fmt: skip
    assert "inspector: already has the account 'wangfang'" in again.output
    again = cli(
        "user", "add", "wangfang", "--role", "admin", "--password-stdin", input=f"{OTHER}\n",
        code=1,
    )  # fmt: skip
    assert "username: is taken" in again.output

    cli(
        "user", "add", "firm", "--role", "enterprise", "--enterprise", USCC,
        "--password-stdin", input=f"{GOOD}\n",
    )  # fmt: skip
    assert cli.authenticate("firm", GOOD).enterprise_id is not None


def test_add_checks_the_scope_of_the_role(cli: Cli) -> None:
    """Scope is checked before the password is asked for (no input is given here)."""
    refused = cli("user", "add", "li", "--role", "inspector", code=1)
    assert "inspector: required for an inspector account" in refused.output
    assert "Password" not in refused.output
    refused = cli("user", "add", "li", "--role", "supervisor", "--enterprise", USCC, code=1)
    assert "enterprise: only an enterprise account names an enterprise" in refused.output
    assert "department: required for this role" in refused.output
    refused = cli("user", "add", "li", "--role", "liaison", "--department", "NOPE", code=1)
    assert "department: no department with code 'NOPE'" in refused.output
    refused = cli(
        "user", "add", "li", "--role", "inspector", "--inspector", "33078300000001",
        "--department", "DY-ZF", code=1,
    )  # fmt: skip
    assert "department: is not the inspector's department" in refused.output
    refused = cli(
        "user", "add", "li", "--role", "inspector", "--inspector", "33078399999999", code=1
    )
    assert "inspector: no inspector with credential number '33078399999999'" in refused.output
    refused = cli("user", "add", "li", "--role", "enterprise", "--enterprise", "X" * 18, code=1)
    assert f"enterprise: no enterprise with USCC '{'X' * 18}'" in refused.output
    assert "Password" not in refused.output
    assert cli.user("li") is None
    cli(
        "user", "add", "li", "--role", "supervisor", "--department", "DY-SJ",
        "--password-stdin", input=f"{GOOD}\n",
    )  # fmt: skip
    assert cli.user("li").department_id is not None


def test_passwd_resets_the_password_and_lifts_the_lock(cli: Cli) -> None:
    cli("user", "add", "zhaoli", "--role", "admin", "--password-stdin", input=f"{GOOD}\n")
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(InvalidCredentialsError):
            cli.authenticate("zhaoli", "wrong password here")
    with pytest.raises(AccountLockedError):
        cli.authenticate("zhaoli", "wrong password here")

    refused = cli("user", "passwd", "zhaoli", "--password-stdin", input="iloveyou2024\n", code=1)
    assert "password: is one of the most common passwords" in refused.output
    refused = cli("user", "passwd", "zhaoli", "--password-stdin", input=f"{GOOD}\n", code=1)
    assert "password: must differ from the current one" in refused.output
    refused = cli("user", "passwd", "nobody", "--password-stdin", input=f"{OTHER}\n", code=1)
    assert "username: no account named 'nobody'" in refused.output
    with pytest.raises(AccountLockedError):  # the refusals changed nothing
        cli.authenticate("zhaoli", GOOD)

    result = cli("user", "passwd", "zhaoli", input=f"{OTHER}\n{OTHER}\n")
    assert "password of zhaoli changed; 0 API token(s) revoked" in result.output
    assert OTHER not in result.output
    assert cli.authenticate("zhaoli", OTHER).username == "zhaoli"
    with pytest.raises(InvalidCredentialsError):
        cli.authenticate("zhaoli", GOOD)
    assert cli.audit_actions("zhaoli") == [("account.create", None), ("account.password", None)]


def test_a_reset_and_revoke_tokens_end_the_account_s_api_tokens(cli: Cli) -> None:
    cli("user", "add", "zhaoli", "--role", "admin", "--password-stdin", input=f"{GOOD}\n")
    cli("user", "add", "qianwu", "--role", "admin", "--password-stdin", input=f"{GOOD}\n")
    with Session(cli.engine) as session:
        tokens = TokenService(session)
        secrets = {
            name: [tokens.issue(_named(session, name)).secret for _ in range(2)]
            for name in ("zhaoli", "qianwu")
        }
        session.commit()

    result = cli("user", "revoke-tokens", "zhaoli")
    assert "2 API token(s) of zhaoli revoked" in result.output
    assert "0 API token(s) of zhaoli revoked" in cli("user", "revoke-tokens", "zhaoli").output
    cli("user", "revoke-tokens", "nobody", code=1)
    result = cli("user", "passwd", "qianwu", "--password-stdin", input=f"{OTHER}\n")
    assert "password of qianwu changed; 2 API token(s) revoked" in result.output
    with Session(cli.engine) as session:
        tokens = TokenService(session)
        assert all(tokens.authenticate(s) is None for s in secrets["zhaoli"] + secrets["qianwu"])
    assert ("account.revoke_tokens", None) in cli.audit_actions("zhaoli")
    assert ("account.revoke_tokens", None) in cli.audit_actions("qianwu")


def _named(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def test_list(cli: Cli) -> None:
    assert "no accounts" in cli("user", "list").output
    cli(
        "user",
        "add",
        "zhaoli",
        "--role",
        "admin",
        "--display-name",
        "赵丽",
        "--password-stdin",
        input=f"{GOOD}\n",
    )
    cli(
        "user", "add", "chen", "--role", "liaison", "--department", "DY-SJ", "--password-stdin",
        input=f"{GOOD}\n",
    )  # fmt: skip
    cli("user", "deactivate", "chen")

    lines = cli("user", "list").output.splitlines()
    assert [line.split()[0] for line in lines] == ["chen", "zhaoli"]
    assert lines[0].split()[1:4] == ["liaison", "inactive", "department"]
    assert "DY-SJ" in lines[0] and "赵丽" in lines[1]
    only = json.loads(cli("user", "list", "--role", "liaison", "--json").output)["users"]
    assert [(u["username"], u["active"], u["department"]) for u in only] == [
        ("chen", False, "DY-SJ")
    ]
    assert "role: must be one of" in cli("user", "list", "--role", "pilot", code=1).output


def test_deactivate_blocks_sign_in_and_activate_restores_it(cli: Cli) -> None:
    cli("user", "add", "zhaoli", "--role", "admin", "--password-stdin", input=f"{GOOD}\n")
    assert "account zhaoli deactivated" in cli("user", "deactivate", "zhaoli").output
    with pytest.raises(InvalidCredentialsError):
        cli.authenticate("zhaoli", GOOD)
    assert "already deactivated" in cli("user", "deactivate", "zhaoli").output
    assert "account zhaoli activated" in cli("user", "activate", "zhaoli").output
    assert cli.authenticate("zhaoli", GOOD).active
    assert "no account named 'ghost'" in cli("user", "deactivate", "ghost", code=1).output
    # The repeated deactivation recorded nothing.
    assert cli.audit_actions("zhaoli") == [
        ("account.create", None),
        ("account.deactivate", None),
        ("account.activate", None),
    ]


def test_unlock(cli: Cli) -> None:
    cli("user", "add", "zhaoli", "--role", "admin", "--password-stdin", input=f"{GOOD}\n")
    assert "is not locked" in cli("user", "unlock", "zhaoli").output
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises((InvalidCredentialsError, AccountLockedError)):
            cli.authenticate("zhaoli", "wrong password here")
    assert "locked until" in cli("user", "list").output
    with pytest.raises(AccountLockedError):
        cli.authenticate("zhaoli", GOOD)
    assert "account zhaoli unlocked" in cli("user", "unlock", "zhaoli").output
    assert cli.authenticate("zhaoli", GOOD).failed_logins == 0
    assert cli.audit_actions("zhaoli")[-1] == ("account.unlock", None)
