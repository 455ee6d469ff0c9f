"""``suijian plan``: create, approve, commit, draw, redraw, show and list sampling plans.

Governing commands act as the user named by ``--as`` (the supervisor or an admin) and each
commits its own transaction. ``plan draw`` runs the draw with the revealed seed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.distributed_draw import DistributedDrawError
from enforcement.models import PlanError, PlanStatus, SamplingMethod, User
from enforcement.services.draws import DrawService, draw_summary
from enforcement.services.plans import (
    DEFAULT_STRATA_KEYS,
    STRATA_KEYS,
    PlanService,
    PlanValidationError,
    get_plan,
    list_plans,
    new_secret_seed,
    plan_summary,
)
from enforcement.worker import celery_app, configure
from random_sampler import seeds

SHANGHAI = ZoneInfo("Asia/Shanghai")  # people read local time; storage and --json are UTC

# Service field → command-line option, so errors point at what the user typed.
_OPTIONS = {
    "tier_ratios": "--ratios",
    "alternates_per_stratum": "--alternates",
    "strata_keys": "--strata",
    "seed": "--seed",
    "public_value": "--public-value",
}

_as_option = click.option(
    "--as",
    "username",
    required=True,
    metavar="USERNAME",
    help="The acting user (a supervisor or admin), e.g. the demo user 'supervisor'.",
)


@click.group("plan")
def plan_group() -> None:
    """Sampling plans (抽查计划): draft → approved → seed committed → drawn → published."""


@plan_group.command("create")
@click.option("--code", required=True, help="Unique plan code, e.g. 2025-DY-01.")
@click.option("--title", required=True, help="Title of the plan.")
@click.option("--year", required=True, type=int, help="Year the plan covers.")
@click.option("--items", required=True, metavar="CODE,...", help="Inspection item codes.")
@click.option(
    "--jurisdictions",
    required=True,
    metavar="ADCODE,...",
    help="Administrative division codes of the scope (each includes everything below it).",
)
@click.option(
    "--ratios",
    required=True,
    metavar="A=R,B=R,C=R,D=R",
    help="Sampling ratio per credit-risk tier, e.g. A=0.03,B=0.1,C=0.3,D=0.8.",
)
@click.option("--budget", type=int, help="Total number of targets (default: sum of ratios).")
@click.option(
    "--method",
    type=click.Choice([m.value for m in SamplingMethod]),
    default=SamplingMethod.EXACT.value,
    show_default=True,
)
@click.option("--exclude-within-months", type=int, help="Skip targets inspected this recently.")
@click.option("--annual-cap", type=int, help="Skip targets inspected this often this year.")
@click.option("--alternates", type=int, default=3, show_default=True, help="Per stratum.")
@click.option(
    "--strata",
    default=",".join(DEFAULT_STRATA_KEYS),
    show_default=True,
    metavar="KEY,...",
    help=f"Stratum keys, from: {', '.join(STRATA_KEYS)}.",
)
@click.option("--team-size", type=int, default=2, show_default=True, help="Officers per team.")
@click.option("--workload-cap", type=int, help="Most tasks per inspector.")
@click.option(
    "--recuse-same-jurisdiction",
    is_flag=True,
    help="Never send officers to targets in their own jurisdiction.",
)
@click.option(
    "--due-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Tasks due by (default: 31 December of the year).",
)
@_as_option
@pass_app
def create(
    app: AppContext,
    code: str,
    title: str,
    year: int,
    items: str,
    jurisdictions: str,
    ratios: str,
    budget: int | None,
    method: str,
    exclude_within_months: int | None,
    annual_cap: int | None,
    alternates: int,
    strata: str,
    team_size: int,
    workload_cap: int | None,
    recuse_same_jurisdiction: bool,
    due_date: dt.datetime | None,
    username: str,
) -> None:
    """Create a draft plan."""
    fields = {
        "code": code,
        "title": title,
        "year": year,
        "items": _split(items),
        "jurisdictions": _split(jurisdictions),
        "tier_ratios": _parse_ratios(ratios),
        "budget": budget,
        "method": method,
        "exclude_within_months": exclude_within_months,
        "annual_cap": annual_cap,
        "alternates_per_stratum": alternates,
        "strata_keys": _split(strata),
        "team_size": team_size,
        "workload_cap": workload_cap,
        "recuse_same_jurisdiction": recuse_same_jurisdiction,
        "due_date": due_date.date() if due_date else None,
    }
    with acting_user(app, username) as service:
        plan = service.create(**fields)
        summary = plan_summary(plan)
    click.echo(
        f"plan {summary['code']} created as a draft: {len(summary['items'])} items, "
        f"departments {', '.join(summary['departments'])}; next: suijian plan approve "
        f"{summary['code']} --as SUPERVISOR"
    )


@plan_group.command("approve")
@click.argument("code")
@_as_option
@pass_app
def approve(app: AppContext, code: str, username: str) -> None:
    """Approve the draft plan CODE (supervisor or admin)."""
    with acting_user(app, username) as service:
        service.approve(get_plan(service.session, code))
    click.echo(
        f"plan {code} approved by {username}; next: suijian plan commit {code} --as {username}"
    )


@plan_group.command("commit")
@click.argument("code")
@click.option(
    "--commitment",
    metavar="HEX",
    help="SHA-256 (hex) of a secret seed chosen off-line. Without it a seed is generated "
    "here and printed once.",
)
@click.option(
    "--public-value-source",
    metavar="TEXT",
    help="The public value, announced after now, that the draw will mix in "
    "(e.g. '福彩双色球 2025-03-04').",
)
@_as_option
@pass_app
def commit(
    app: AppContext,
    code: str,
    commitment: str | None,
    public_value_source: str | None,
    username: str,
) -> None:
    """Commit plan CODE to a secret seed: only SHA-256(seed) is stored and published."""
    seed = None if commitment else new_secret_seed()
    with acting_user(app, username) as service:
        plan = service.commit_seed(
            get_plan(service.session, code),
            commitment or seeds.commit(seed),
            public_value_source=public_value_source,
        )
        stored = plan.seed_commitment
    click.echo(f"plan {code}: seed committed, sha256 {stored}")
    if seed is not None:
        # Printed after the commit succeeded, and never again: the database holds only the hash.
        click.echo(f"seed: {seed.hex()}")
        click.echo(
            "WARNING: the seed above is shown ONCE and is not stored. Keep it secret and safe "
            "until the draw; the draw needs it, and revealing it early lets anyone predict "
            "the draw.",
            err=True,
        )


@plan_group.command("draw")
@click.argument("code")
@click.option("--seed", required=True, metavar="HEX", help="The secret seed committed to.")
@click.option(
    "--public-value",
    metavar="TEXT",
    help="The public value from the source declared at commit time (required exactly then).",
)
@click.option(
    "--parts",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Draw the strata in this many parts on the Celery workers; 1 = here.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for the workers of a distributed draw.",
)
@_as_option
@pass_app
def draw(
    app: AppContext,
    code: str,
    seed: str,
    public_value: str | None,
    parts: int,
    timeout: float,
    username: str,
) -> None:
    """Draw plan CODE: reveal the seed, select the targets and pair the teams.

    With --parts N > 1, the candidate snapshot is stored and committed first, then the
    workers draw groups of strata; the result is the same as drawing here.
    """
    try:
        seed_bytes = bytes.fromhex(seed.strip())
    except ValueError:
        raise click.BadParameter("must be hexadecimal digits", param_hint="--seed") from None
    staged, celery = None, None
    if parts > 1:
        with acting_user(app, username) as service:
            staged = DrawService(service.session, service.actor).stage_snapshot(
                get_plan(service.session, code)
            )
        celery = configure(celery_app, app.settings)
    with acting_user(app, username) as service:
        drawn = DrawService(service.session, service.actor).draw(
            get_plan(service.session, code),
            seed_bytes,
            public_value,
            snapshot_sha256=staged,
            parts=parts,
            celery_app=celery,
            timeout=timeout,
        )
        summary = draw_summary(drawn)
    for line in _describe_draw(summary):
        click.echo(line)


@plan_group.command("redraw")
@click.argument("code")
@click.option("--reason", required=True, help="Why the plan is redrawn (recorded, public).")
@click.option("--new-code", help="Code of the new plan (default: <code>-R<n>).")
@_as_option
@pass_app
def redraw(app: AppContext, code: str, reason: str, new_code: str | None, username: str) -> None:
    """Start a new draft that supersedes plan CODE (its seed committed or drawn)."""
    with acting_user(app, username) as service:
        new = service.redraw(get_plan(service.session, code), reason, code=new_code)
        created = new.code
    click.echo(f"plan {created} created as a draft; it supersedes {code}")


@plan_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def show(app: AppContext, code: str, as_json: bool) -> None:
    """Show plan CODE."""
    with _errors(), session_scope(app.sessions) as session:
        summary = plan_summary(get_plan(session, code))
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for line in _describe(summary):
        click.echo(line)


@plan_group.command("list")
@click.option("--year", type=int, help="Only plans of this year.")
@click.option("--status", type=click.Choice([s.value for s in PlanStatus]))
@pass_app
def list_(app: AppContext, year: int | None, status: str | None) -> None:
    """List plans, newest year first."""
    with session_scope(app.sessions) as session:
        rows = [
            (p.code, p.year, p.status.value, p.title)
            for p in list_plans(session, year=year, status=status)
        ]
    if not rows:
        click.echo("no sampling plans")
        return
    width = max(len(code) for code, *_ in rows)
    for code, year_, status_, title in rows:
        click.echo(f"{code:<{width}}  {year_}  {status_:<14}  {title}")


# ---------------------------------------------------------------------- helpers


@contextmanager
def _errors() -> Iterator[None]:
    """Plan errors become a one-line message and exit status 1."""
    try:
        yield
    except PlanValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{_option(field)}: {reason}" for field, reason in exc.errors.items())
        ) from exc
    except (PlanError, DistributedDrawError) as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def acting_user(app: AppContext, username: str) -> Iterator[PlanService]:
    """One transaction, acting as ``username``; committed when the block succeeds."""
    with _errors(), session_scope(app.sessions) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"--as: no user named {username!r}")
        yield PlanService(session, user)


def _option(field: str) -> str:
    return _OPTIONS.get(field, "--" + field.replace("_", "-"))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_ratios(value: str) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for part in _split(value):
        tier, sep, number = part.partition("=")
        if not sep:
            raise click.BadParameter(f"{part!r} is not TIER=RATIO", param_hint="--ratios")
        try:
            ratios[tier.strip().upper()] = float(number)
        except ValueError:
            raise click.BadParameter(
                f"{number.strip()!r} is not a number (tier {tier.strip()})",
                param_hint="--ratios",
            ) from None
    return ratios


def _describe_draw(summary: dict[str, Any]) -> Iterator[str]:
    blocked = ", ".join(f"{k} {n}" for k, n in summary["blocked_by_reason"].items()) or "none"
    yield f"plan {summary['plan']} drawn ({summary['algorithm_version']})"
    yield f"  candidates          {summary['candidates']} ({summary['excluded']} excluded)"
    yield (
        f"  targets drawn       {summary['drawn']} "
        f"({summary['added_for_coverage']} added for item coverage)"
    )
    yield f"  teams staffed       {summary['staffed']}"
    yield f"  blocked             {summary['blocked']} ({blocked})"
    yield f"  alternates          {summary['alternates']}"
    yield (
        f"  cross-department    {summary['cross_department']} "
        f"({summary['cross_department_share']:.1%})"
    )
    yield f"  snapshot hash       {summary['snapshot_hash']}"


def _describe(summary: dict[str, Any]) -> Iterator[str]:
    def show(value: Any) -> str:
        return "-" if value is None else str(value)

    ratios = ", ".join(f"{tier}={ratio:g}" for tier, ratio in summary["tier_ratios"].items())
    yield f"plan {summary['code']}: {summary['title']} ({summary['year']})"
    yield f"  status              {summary['status']}"
    yield "  items               " + ", ".join(
        f"{item['code']} {item['name']}" for item in summary["items"]
    )
    yield "  departments         " + ", ".join(summary["departments"])
    yield "  jurisdictions       " + ", ".join(
        f"{j['adcode']} {j['name']}" for j in summary["jurisdictions"]
    )
    yield f"  tier ratios         {ratios}"
    yield f"  budget              {show(summary['budget'])}"
    yield f"  method              {summary['method']}"
    yield f"  strata              {', '.join(summary['strata_keys'])}"
    yield f"  exclude within      {show(summary['exclude_within_months'])} months"
    yield f"  annual cap          {show(summary['annual_cap'])}"
    yield f"  alternates          {summary['alternates_per_stratum']} per stratum"
    yield f"  team size           {summary['team_size']}"
    yield f"  workload cap        {show(summary['workload_cap'])}"
    yield f"  recuse same area    {'yes' if summary['recuse_same_jurisdiction'] else 'no'}"
    yield f"  due date            {summary['due_date']}"
    yield f"  seed commitment     {show(summary['seed_commitment'])}"
    if summary["public_value_source"]:
        yield f"  public value from   {summary['public_value_source']}"
    if summary["revealed_seed"]:
        yield f"  revealed seed       {summary['revealed_seed']}"
        yield f"  public value        {show(summary['public_value'])}"
    if summary["supersedes"]:
        yield f"  supersedes          {summary['supersedes']} ({summary['redraw_reason']})"
    if summary["superseded_by"]:
        yield f"  superseded by       {summary['superseded_by']}"
    for step in ("created", "approved", "committed", "drawn", "published"):
        if summary[f"{step}_at"]:
            at = dt.datetime.fromisoformat(summary[f"{step}_at"]).astimezone(SHANGHAI)
            yield f"  {step:<20}{at:%Y-%m-%d %H:%M} (+08:00) by {show(summary[f'{step}_by'])}"


COMMANDS = [plan_group]
