"""``suijian user``: accounts of the bureau's staff and of enterprises (add, reset a password,
list, deactivate, activate, unlock).

Passwords are never arguments (they would stay in the shell history and in ``ps``): they are
prompted for twice without echo, or read from standard input with ``--password-stdin``.
``add``, ``passwd``, ``deactivate`` and ``activate`` go through ``AccountService`` (the
password policy, ending sessions, the audit); ``unlock``, which the service has no operation
for, is audited here. Every entry has no actor: ``audit.record`` reads that as the system itself,
which for these commands is whoever runs the command line on the server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import Department, Enterprise, Inspector, Role, User, utcnow
from enforcement.services import audit
from enforcement.services.accounts import AccountService, AccountValidationError
from enforcement.services.tokens import TokenService

LOCALES = ("zh_CN", "en")
ROLE_NAMES = ", ".join(r.value for r in Role)


class Refused(click.ClickException):
    """Refused input: each field with its reason, one per line, exit 1."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("\n".join(f"{field}: {why}" for field, why in errors.items()))
        self.errors = dict(errors)

    def show(self, file: Any = None) -> None:
        click.echo(f"refused:\n{self.format_message()}", err=True, file=file)


def _refuse(errors: Mapping[str, str]) -> NoReturn:
    raise Refused(errors)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        _refuse({"username": f"no account named {username!r}"})
    return user


def _password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        # One line; only the line ending is removed (spaces may be part of a passphrase).
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts) instead of "
    "prompting for it.",
)


@click.group("user")
def user_group() -> None:
    """Accounts: add, reset a password, list, deactivate, activate, unlock."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, help=f"One of {ROLE_NAMES}.")
@click.option("--display-name", default=None, help="Name shown in pages (default: USERNAME).")
@click.option("--department", "department_code", default=None, help="Department code.")
@click.option(
    "--inspector",
    "credential_no",
    default=None,
    help="Credential number (执法证号) of the inspector this account is (role inspector).",
)
@click.option(
    "--enterprise", "uscc", default=None, help="USCC of the enterprise (role enterprise)."
)
@click.option("--locale", default="zh_CN", show_default=True, help="zh_CN or en.")
@password_stdin
@pass_app
def add(
    app: AppContext,
    username: str,
    role: str,
    display_name: str | None,
    department_code: str | None,
    credential_no: str | None,
    uscc: str | None,
    locale: str,
    password_stdin: bool,
) -> None:
    """Create the account USERNAME under the password policy.

    An inspector account names its inspector (its department defaults to the inspector's);
    supervisor and liaison accounts name their department; an enterprise account names its
    enterprise.
    """
    errors: dict[str, str] = {}
    if locale not in LOCALES:
        errors["locale"] = f"must be one of {', '.join(LOCALES)}"
    if role not in set(Role):
        errors["role"] = f"must be one of {ROLE_NAMES}"
    if credential_no is not None and role != Role.INSPECTOR:
        errors["inspector"] = "only an inspector account names an inspector"
    if uscc is not None and role != Role.ENTERPRISE:
        errors["enterprise"] = "only an enterprise account names an enterprise"
    if role == Role.INSPECTOR and credential_no is None:
        errors["inspector"] = "required for an inspector account (--inspector CREDENTIAL_NO)"
    if role == Role.ENTERPRISE and uscc is None:
        errors["enterprise"] = "required for an enterprise account (--enterprise USCC)"
    if role in (Role.SUPERVISOR, Role.LIAISON) and department_code is None:
        errors["department"] = "required for this role (--department CODE)"
    if errors:
        _refuse(errors)
    # Everything but the password is checked before asking for one that could not be used.
    with session_scope(app.sessions) as session:
        scope = _scope(session, department_code, credential_no, uscc)
    password = _password(password_stdin)
    with session_scope(app.sessions) as session:
        try:
            user = AccountService(session).create_user(
                username=username,
                display_name=display_name if display_name is not None else username,
                role=role,
                password=password,
                **scope,
            )
        except AccountValidationError as exc:
            _refuse(exc.errors)
        user.locale = locale
        summary = f"account {user.username} ({user.role.value}) created"
    click.echo(summary)


def _scope(
    session: Session, department_code: str | None, credential_no: str | None, uscc: str | None
) -> dict[str, int | None]:
    """``department_id``, ``inspector_id``, ``enterprise_id`` of the codes given, or refused."""
    errors: dict[str, str] = {}
    scope: dict[str, int | None] = {}
    department = None
    if department_code is not None:
        department = session.scalar(
            select(Department).where(Department.code == department_code.strip())
        )
        if department is None:
            errors["department"] = f"no department with code {department_code!r}"
        else:
            scope["department_id"] = department.id
    if credential_no is not None:
        inspector = session.scalar(
            select(Inspector).where(Inspector.credential_no == credential_no.strip())
        )
        if inspector is None:
            errors["inspector"] = f"no inspector with credential number {credential_no!r}"
        else:
            scope["inspector_id"] = inspector.id
            if department_code is None:  # an inspector's account works in their department
                scope["department_id"] = inspector.department_id
            elif department is not None and department.id != inspector.department_id:
                errors["department"] = "is not the inspector's department"
            taken = session.scalar(select(User.username).where(User.inspector_id == inspector.id))
            if taken is not None:
                errors["inspector"] = f"already has the account {taken!r}"
    if uscc is not None:
        enterprise = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc.strip()))
        if enterprise is None:
            errors["enterprise"] = f"no enterprise with USCC {uscc!r}"
        else:
            scope["enterprise_id"] = enterprise.id
    if errors:
        _refuse(errors)
    return scope


@user_group.command("passwd")
@click.argument("username")
@password_stdin
@pass_app
def passwd(app: AppContext, username: str, password_stdin: bool) -> None:
    """Reset the password of USERNAME; also lifts a sign-in lock, ends the account's sessions
    and revokes its API tokens (a reset is for a forgotten or stolen password).

    The administrator's reset: the current password is not asked for. Tell the person the new
    password by a separate channel and ask them to change it at /account/password."""
    with session_scope(app.sessions) as session:
        _user(session, username)  # a mistyped name is told before the password is typed
    password = _password(password_stdin, "New password")
    with session_scope(app.sessions) as session:
        user = _user(session, username)
        try:
            AccountService(session).set_password(user, password, actor=None)
        except AccountValidationError as exc:
            _refuse(exc.errors)
        revoked = _revoke_tokens(session, user)
    click.echo(f"password of {username.strip()} changed; {revoked} API token(s) revoked")


def _revoke_tokens(session: Session, user: User) -> int:
    revoked = TokenService(session).revoke_all(user)
    if revoked:
        audit.record(session, None, "account.revoke_tokens", user, {"tokens": revoked})
    return revoked


@user_group.command("revoke-tokens")
@click.argument("username")
@pass_app
def revoke_tokens(app: AppContext, username: str) -> None:
    """Revoke every live API token of USERNAME (a lost tablet, a leaked token): its devices
    must sign in again. Sessions of the desk pages are not affected."""
    with session_scope(app.sessions) as session:
        user = _user(session, username)
        revoked = _revoke_tokens(session, user)
        name = user.username
    click.echo(f"{revoked} API token(s) of {name} revoked")


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


@user_group.command("list")
@click.option("--role", default=None, help=f"Only this role ({ROLE_NAMES}).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def list_users(app: AppContext, role: str | None, as_json: bool) -> None:
    """Accounts by username: role, state, scope and name."""
    if role is not None and role not in set(Role):
        _refuse({"role": f"must be one of {ROLE_NAMES}"})
    with session_scope(app.sessions) as session:
        statement = select(User).order_by(User.username)
        if role is not None:
            statement = statement.where(User.role == Role(role))
        rows = [
            {
                "username": user.username,
                "display_name": user.display_name,
                "role": user.role.value,
                "active": user.active,
                "locked_until": user.locked_until.isoformat() if _locked(user) else None,
                "department": user.department.code if user.department else None,
                "inspector": user.inspector.credential_no if user.inspector else None,
                "enterprise": user.enterprise.uscc if user.enterprise else None,
                "locale": user.locale,
            }
            for user in session.scalars(statement)
        ]
    if as_json:
        click.echo(json.dumps({"users": rows}, ensure_ascii=False))
        return
    if not rows:
        click.echo("no accounts")
    for row in rows:
        state = "active" if row["active"] else "inactive"
        if row["locked_until"]:
            state += f", locked until {row['locked_until']}"
        scope = " ".join(
            f"{key} {row[key]}" for key in ("department", "inspector", "enterprise") if row[key]
        )
        click.echo(
            f"{row['username']:<24} {row['role']:<10} {state:<10} {scope}  {row['display_name']}"
        )


def _set_active(app: AppContext, username: str, active: bool) -> None:
    verb = "activated" if active else "deactivated"
    with session_scope(app.sessions) as session:
        user = _user(session, username)
        # A repeated command changes nothing and records nothing; deactivation also ends
        # the account's sessions.
        if not AccountService(session).set_active(user, active, actor=None):
            click.echo(f"account {user.username} already {verb}")
            return
        name = user.username
    click.echo(f"account {name} {verb}")


@user_group.command("deactivate")
@click.argument("username")
@pass_app
def deactivate(app: AppContext, username: str) -> None:
    """Stop USERNAME from signing in. Its open sessions and API tokens stop working at their
    next request; nothing it recorded is removed."""
    _set_active(app, username, False)


@user_group.command("activate")
@click.argument("username")
@pass_app
def activate(app: AppContext, username: str) -> None:
    """Let a deactivated USERNAME sign in again."""
    _set_active(app, username, True)


@user_group.command("unlock")
@click.argument("username")
@pass_app
def unlock(app: AppContext, username: str) -> None:
    """Lift the sign-in lock of USERNAME and clear its failure count."""
    with session_scope(app.sessions) as session:
        user = _user(session, username)
        if not _locked(user) and not user.failed_logins:
            click.echo(f"account {user.username} is not locked")
            return
        user.locked_until = None
        user.failed_logins = 0
        audit.record(session, None, "account.unlock", user)
        name = user.username
    click.echo(f"account {name} unlocked")


COMMANDS = [user_group]
