"""``suijian credit``: rate enterprises and show an enterprise's credit."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import Enterprise, RatingCause, User
from enforcement.services.credit import RatingService, full_credit_profile


@click.group("credit")
def credit_group() -> None:
    """Credit-risk tiers (信用风险分类): rate enterprises, show a rating."""


@credit_group.command("rate")
@click.argument("enterprises", nargs=-1)
@click.option("--all", "everybody", is_flag=True, help="Re-rate every enterprise.")
@click.option("--as", "username", default=None, help="Acting user, for the audit log.")
@pass_app
def rate(
    app: AppContext, enterprises: tuple[str, ...], everybody: bool, username: str | None
) -> None:
    """Rate ENTERPRISES (ids or USCCs), or every enterprise with --all; one transaction."""
    if bool(enterprises) == everybody:
        raise click.UsageError("give enterprise ids or USCCs, or --all (not both)")
    with session_scope(app.sessions) as session:
        actor = None
        if username is not None:
            actor = session.scalar(select(User).where(User.username == username))
            if actor is None:
                raise click.ClickException(f"--as: no user named {username!r}")
        ids = None if everybody else [_enterprise(session, key).id for key in enterprises]
        summary = RatingService(session, actor).rate(
            ids, cause=RatingCause.BATCH if everybody else RatingCause.MANUAL, detail="cli"
        )
    tiers = "  ".join(f"{tier} {count}" for tier, count in summary.tiers.items())
    click.echo(
        f"rated {summary.rated}: {summary.changed} changed, "
        f"{summary.tier_changes} changed tier; tiers {tiers}"
    )


@credit_group.command("show")
@click.argument("enterprise")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def show(app: AppContext, enterprise: str, as_json: bool) -> None:
    """The credit of ENTERPRISE (id or USCC): tier, score band, reasons and history."""
    with session_scope(app.sessions) as session:
        found = _enterprise(session, enterprise)
        profile = full_credit_profile(session, found)  # the command line is an operator's
    if as_json:
        click.echo(json.dumps(profile, ensure_ascii=False, indent=2))
        return
    click.echo(f"{profile['enterprise']['name']} ({profile['enterprise']['uscc'] or '-'})")
    click.echo(f"tier {profile['tier'] or 'not rated'}, score {profile['score_band'] or '-'}")
    for reason in profile["reasons"]:
        click.echo(f"  - {reason.get('zh', '')} / {reason.get('en', '')}")
    for row in profile["history"]:
        click.echo(f"  {row['rated_at']}  {row['tier']}  {row['score_band']}  {row['cause']}")


def _enterprise(session, key: str) -> Enterprise:  # type: ignore[no-untyped-def]
    query = select(Enterprise).where(
        Enterprise.id == int(key) if key.isdigit() else Enterprise.uscc == key.upper()
    )
    found = session.scalar(query)
    if found is None:
        raise click.ClickException(f"no enterprise {key!r} (an id or a USCC)")
    return found


COMMANDS = [credit_group]
