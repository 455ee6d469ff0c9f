"""``suijian backtest``: train the credit-risk scorecard on past inspections, test on later ones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from enforcement.backtest import FORMATS, BacktestError, human, load_chicago, run_backtest


@click.command("backtest")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="Layout of the files: chicago (City of Chicago food inspections, 2011-2014).",
)
@click.option(
    "--inspections",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Inspections CSV (chicago: canvass_inspections_*.csv).",
)
@click.option(
    "--features",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Extra features CSV (chicago: model_features_*.csv: licence age, complaint heat, "
    "inspector group for the strictness estimate).",
)
@click.option(
    "--train-before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="Train on inspections before this date and score every establishment as of it.",
)
@click.option(
    "--test-until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate on the inspections from --train-before to this date (default: the last).",
)
@click.option(
    "--penalty-c",
    type=click.FloatRange(min=0, min_open=True),
    default=0.1,
    show_default=True,
    help="Inverse L2 penalty of the logistic fit.",
)
@click.option(
    "--write-card",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the trained scorecard (JSON) to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
def backtest(
    fmt: str,
    inspections: Path,
    features: Path | None,
    train_before: dt.datetime,
    test_until: dt.datetime | None,
    penalty_c: float,
    write_card: Path | None,
    as_json: bool,
) -> None:
    """Backtest the credit-risk scorecard against the city's risk category and boosted trees.

    Example: suijian backtest --format chicago --inspections canvass.csv --features
    features.csv --train-before 2014-01-01 --test-until 2014-08-29 --json
    """
    assert fmt == "chicago"  # the only format so far; click.Choice has checked it
    try:
        data = load_chicago(inspections, features)
        figures = run_backtest(
            data,
            train_before.date(),
            test_until.date() if test_until else None,
            c=penalty_c,
            card_path=write_card,
        )
    except BacktestError as exc:
        raise click.BadParameter(exc.message, param_hint=f"'{exc.option}'") from exc
    click.echo(json.dumps(figures, ensure_ascii=False) if as_json else human(figures))


COMMANDS = [backtest]
