"""``suijian backtest --format chicago`` on a slice of the real Chicago file, through click."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from credit_rating import load_scorecard
from enforcement.backtest import build_features, load_chicago
from enforcement.cli import main

INSPECTIONS = "chicago/canvass_inspections_2011-09_2014-08.csv"
FEATURES = "chicago/model_features_2011-09_2014-04.csv"
SLICE = ("2013-01-01", "2013-06-30")
TRAIN_BEFORE = "2013-05-01"
METRICS = {"auc", "ks", "base_rate", "top_quarter_lift", "days_earlier"}


@pytest.fixture(scope="module")
def chicago_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inspections of the first half of 2013 and their rows of the features file."""
    folder = tmp_path_factory.mktemp("chicago")
    with open(shared_data / INSPECTIONS, newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        rows = [r for r in reader if SLICE[0] <= r["Inspection_Date"] <= SLICE[1]]
        header = reader.fieldnames
    with open(folder / "inspections.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    ids = {r["Inspection_ID"] for r in rows}
    with open(shared_data / FEATURES, newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        keep = [r for r in reader if r["Inspection_ID"] in ids]
        header = reader.fieldnames
    with open(folder / "features.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(keep)
    return folder


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["backtest", *args])
    return result.exit_code, result.output


def _independent_counts(path: Path) -> tuple[int, int, int]:
    """(training rows, test rows, test rows with a critical violation), with the csv module."""
    train = test = critical = 0
    with open(path, newline="", encoding="utf-8") as src:
        for row in csv.DictReader(src):
            if row["Inspection_Date"] < TRAIN_BEFORE:
                train += 1
            elif row["Inspection_Date"] <= SLICE[1]:
                test += 1
                critical += float(row["criticalCount"]) > 0
    return train, test, critical


def test_backtest_json_on_a_slice(chicago_slice: Path, tmp_path: Path) -> None:
    card_path = tmp_path / "card.json"
    code, output = _invoke(
        "--format", "chicago",
        "--inspections", str(chicago_slice / "inspections.csv"),
        "--features", str(chicago_slice / "features.csv"),
        "--train-before", TRAIN_BEFORE,
        "--test-until", SLICE[1],
        "--write-card", str(card_path),
        "--json",
    )  # fmt: skip
    assert code == 0, output
    lines = output.strip().splitlines()
    assert len(lines) == 1  # one JSON object, nothing else
    figures = json.loads(lines[0])
    assert figures.keys() >= METRICS | {"risk_only", "boosted", "goals", "tiers", "inspectors"}
    for baseline in ("risk_only", "boosted", "no_inspector_adjustment"):
        assert figures[baseline].keys() == METRICS
        assert figures[baseline]["base_rate"] == figures["base_rate"]

    train, test, critical = _independent_counts(chicago_slice / "inspections.csv")
    assert figures["train_inspections"] == train
    assert figures["test_inspections"] == test
    assert figures["base_rate"] == round(critical / test, 4)
    for name in ("auc", "ks"):
        assert 0 <= figures[name] <= 1
    assert figures["top_quarter_lift"] > 0
    assert sum(figures["tiers"]["establishments"].values()) == pytest.approx(1, abs=1e-3)

    card = load_scorecard(card_path)  # the training output is a valid scorecard file
    assert card.digest == figures["scorecard"]["digest"]
    assert "sanitarian" not in card.names and not figures["scorecard"]["uses_inspector"]
    assert figures["inspectors"]["inspectors"]  # the consistency report, by inspector group
    assert figures["inspectors"]["case_mix_adjusted"] is True


def test_backtest_without_features_and_human_output(chicago_slice: Path) -> None:
    code, output = _invoke(
        "--format", "chicago",
        "--inspections", str(chicago_slice / "inspections.csv"),
        "--train-before", TRAIN_BEFORE,
    )  # fmt: skip
    assert code == 0, output
    assert "scorecard" in output and "boosted" in output and "risk_only" in output
    assert "goals:" in output


def test_scores_as_of_the_date_ignore_later_outcomes(chicago_slice: Path, tmp_path: Path) -> None:
    """No leakage: change every outcome after the cut-off; training rows and the
    establishments' features as of the cut-off stay the same."""
    frame = pd.read_csv(chicago_slice / "inspections.csv")
    later = frame["Inspection_Date"] >= TRAIN_BEFORE
    rng = np.random.default_rng(0)
    frame.loc[later, "criticalCount"] = rng.integers(0, 3, int(later.sum()))
    frame.loc[later, "Results"] = "Fail"
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    cut, until = pd.Timestamp(TRAIN_BEFORE), pd.Timestamp(SLICE[1])
    original = build_features(load_chicago(chicago_slice / "inspections.csv"), cut, until)
    changed = build_features(load_chicago(tmp_path / "shuffled.csv"), cut, until)
    pd.testing.assert_frame_equal(original[0], changed[0])  # training rows
    pd.testing.assert_frame_equal(original[1], changed[1])  # establishments as of the cut-off


def test_bad_input_names_the_field(chicago_slice: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(chicago_slice / "inspections.csv")
    frame.drop(columns=["criticalCount"]).to_csv(tmp_path / "no_critical.csv", index=False)
    code, output = _invoke(
        "--format", "chicago", "--inspections", str(tmp_path / "no_critical.csv"),
        "--train-before", TRAIN_BEFORE,
    )  # fmt: skip
    assert code == 2
    assert "'--inspections'" in output and "column criticalCount is missing" in output

    bad = frame.copy()
    bad["Inspection_Date"] = bad["Inspection_Date"].astype(object)
    bad.loc[3, "Inspection_Date"] = "31/01/2013"
    bad.to_csv(tmp_path / "bad_date.csv", index=False)
    code, output = _invoke(
        "--format", "chicago", "--inspections", str(tmp_path / "bad_date.csv"),
        "--train-before", TRAIN_BEFORE,
    )  # fmt: skip
    assert code == 2
    assert "column Inspection_Date: not a date (YYYY-MM-DD) on line 5: '31/01/2013'" in output

    inspections = str(chicago_slice / "inspections.csv")
    code, output = _invoke(
        "--format", "chicago", "--inspections", inspections, "--train-before", "2013-13-01"
    )
    assert code == 2 and "--train-before" in output
    code, output = _invoke(
        "--format", "fsa", "--inspections", inspections, "--train-before", TRAIN_BEFORE
    )
    assert code == 2 and "--format" in output
    code, output = _invoke(
        "--format", "chicago", "--inspections", inspections, "--train-before", "2012-01-01"
    )
    assert code == 2 and "'--train-before'" in output and "no inspection to train on" in output
    code, output = _invoke(
        "--format", "chicago", "--inspections", inspections, "--train-before", TRAIN_BEFORE,
        "--test-until", "2013-04-01",
    )  # fmt: skip
    assert code == 2 and "'--test-until'" in output
    code, output = _invoke(
        "--format", "chicago", "--inspections", str(tmp_path / "nowhere.csv"),
        "--train-before", TRAIN_BEFORE,
    )  # fmt: skip
    assert code == 2 and "file not found" in output
