"""Backtest of the credit-risk model on the City of Chicago's food inspections (issue 4).

``run_backtest`` trains a scorecard on the inspections before ``train_before`` (each described by
what was known on its own date), scores every establishment as of ``train_before`` from what was
known then, and evaluates the scores on the inspections from ``train_before`` to ``test_until``
(critical violation found or not). Two baselines are computed in the same run on the same rows:
the city's Risk 1/2/3 category alone, and a gradient-boosted model on the same features.

Leakage rules:

* History features (last inspection's counts and result, days since it, prior inspections,
  share with a critical violation) are rebuilt from the inspections themselves, strictly before
  the date they describe: a training row's history stops the day before that inspection; an
  establishment's history at scoring time stops the day before ``train_before``. The file's own
  ``past*``/``timeSinceLast`` columns (as of each inspection) are not used.
* Outcomes after ``train_before`` never reach the training or the scores.
* Complaint heat (features file): a training row uses its own value (as of its inspection); at
  scoring time an establishment gets the mean heat of the 10 nearest inspections (by location)
  in the 90 days before ``train_before``, missing when the features file has none.
* Licence age and the establishment's type, risk category and name are registry facts (static);
  the licence's issue date is derived from ``ageAtInspection`` on any of its rows.
* ``sanitarian`` (the inspector group) is used only as the trainer's nuisance term and for the
  consistency report, never as a scoring feature.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neighbors import NearestNeighbors

from credit_rating import (
    FeatureSpec,
    Text,
    consistency_report,
    cutoffs_from_shares,
    evaluate,
    train_scorecard,
)
from credit_rating.metrics import random_order_days_earlier
from credit_rating.tiers import TIERS, realised_shares

FORMATS = ("chicago",)
INSPECTION_COLUMNS = (
    "Inspection_ID",
    "License",
    "Inspection_Date",
    "Facility_Type",
    "Risk",
    "Results",
    "criticalCount",
    "seriousCount",
    "minorCount",
)
OPTIONAL_INSPECTION_COLUMNS = ("DBA_Name", "Latitude", "Longitude")
FEATURE_COLUMNS = (
    "Inspection_ID",
    "ageAtInspection",
    "heat_burglary",
    "heat_garbage",
    "heat_sanitation",
    "sanitarian",
)
HEAT = ("heat_sanitation", "heat_garbage", "heat_burglary")
# Heat used in the scorecard: complaints about the premises' surroundings. Burglary heat is crime
# near the address, not a property of the establishment's compliance, and is left out.
SCORED_HEAT = ("heat_sanitation", "heat_garbage")
HEAT_WINDOW_DAYS = 90
HEAT_NEIGHBOURS = 10
SHARES = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}  # target tier shares of the establishments
GOALS = {"auc": 0.62, "days_earlier": 5.0, "top_quarter_lift": 1.6, "auc_gap_to_boosted": 0.01}

FACILITY_TYPES = (
    "restaurant",
    "grocery_store",
    "school",
    "daycare",
    "bakery",
    "care_facility",
    "catering",
    "golden_diner",
    "other",
)
_FACILITY_PATTERNS = (
    ("grocery", "grocery_store"),
    ("school", "school"),
    ("daycare", "daycare"),
    ("children", "daycare"),
    ("bakery", "bakery"),
    ("long term", "care_facility"),
    ("hospital", "care_facility"),
    ("shelter", "care_facility"),
    ("catering", "catering"),
    ("banquet", "catering"),
    ("golden diner", "golden_diner"),
)
RISK_CATEGORIES = ("risk_3", "risk_2", "risk_1")  # low to high: the declared risk order


class BacktestError(ValueError):
    """Bad input for the backtest: ``option`` is the command-line option, ``message`` names the
    column or value at fault and why."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class ChicagoData:
    inspections: pd.DataFrame  # one row per inspection, typed, sorted by date and id
    features: pd.DataFrame | None  # the city's extra features by Inspection_ID


def _t(zh: str, en: str) -> Text:
    return Text(zh, en)


def chicago_specs(with_features: bool) -> list[FeatureSpec]:
    """The indicators of the Chicago scorecard (the features file adds licence age and heat).

    Minor violations are left out: how many minor items an inspector writes up is the most
    discretionary count, so it measures the inspector about as much as the establishment.
    """
    facility_labels = {
        "restaurant": _t("餐馆", "restaurant"),
        "grocery_store": _t("食品杂货店", "grocery store"),
        "school": _t("学校", "school"),
        "daycare": _t("托儿所", "daycare"),
        "bakery": _t("面包房", "bakery"),
        "care_facility": _t("医院、养老及收容机构", "hospital, long-term care or shelter"),
        "catering": _t("餐饮承办、宴会厅", "catering or banquet hall"),
        "golden_diner": _t("老年餐点", "Golden Diners (senior meals)"),
        "other": _t("其他", "other"),
    }
    specs = [
        FeatureSpec(
            "facility_type",
            "categorical",
            _t("设施类型", "Facility type"),
            categories=FACILITY_TYPES,
            category_labels=facility_labels,
        ),
        FeatureSpec(
            "risk_category",
            "categorical",
            _t("市卫生部门风险类别", "City risk category"),
            risk="increasing",
            categories=RISK_CATEGORIES,
            category_labels={
                "risk_3": _t("3类（低）", "Risk 3 (low)"),
                "risk_2": _t("2类（中）", "Risk 2 (medium)"),
                "risk_1": _t("1类（高）", "Risk 1 (high)"),
            },
        ),
        FeatureSpec(
            "prior_inspections",
            "numeric",
            _t("以往例行检查次数", "Prior canvass inspections"),
            unit=_t("次", "inspections"),
            integer=True,
        ),
        FeatureSpec(
            "days_since_last",
            "numeric",
            _t("距上次检查天数", "Days since the last inspection"),
            risk="increasing",
            unit=_t("天", "days"),
            missing_label=_t("无以往检查", "no earlier inspection"),
        ),
        FeatureSpec(
            "last_critical",
            "numeric",
            _t("上次检查严重违规项", "Critical violations at the last inspection"),
            risk="increasing",
            unit=_t("项", "violations"),
            integer=True,
            missing_label=_t("无以往检查", "no earlier inspection"),
        ),
        FeatureSpec(
            "last_serious",
            "numeric",
            _t("上次检查较重违规项", "Serious violations at the last inspection"),
            risk="increasing",
            unit=_t("项", "violations"),
            integer=True,
            missing_label=_t("无以往检查", "no earlier inspection"),
        ),
        FeatureSpec(
            "last_result",
            "categorical",
            _t("上次检查结果", "Result of the last inspection"),
            risk="increasing",
            categories=("pass", "pass_with_conditions", "fail"),
            category_labels={
                "pass": _t("通过", "pass"),
                "pass_with_conditions": _t("有条件通过", "pass with conditions"),
                "fail": _t("未通过", "fail"),
            },
            missing_label=_t("无以往检查", "no earlier inspection"),
        ),
        FeatureSpec(
            "critical_share",
            "numeric",
            _t("以往检查发现严重违规的比例", "Share of past inspections with a critical violation"),
            risk="increasing",
            missing_label=_t("无以往检查", "no earlier inspection"),
        ),
        FeatureSpec(
            "chain_size",
            "numeric",
            _t("同名门店数", "Establishments under the same name"),
            unit=_t("家", "establishments"),
            integer=True,
        ),
    ]
    if with_features:
        specs.append(
            FeatureSpec(
                "licence_age_years",
                "numeric",
                _t("许可证年限", "Licence age"),
                unit=_t("年", "years"),
            )
        )
        heat_labels = {
            "heat_sanitation": _t("周边卫生投诉热度", "Sanitation-complaint heat nearby"),
            "heat_garbage": _t("周边垃圾投诉热度", "Garbage-cart complaint heat nearby"),
        }
        specs.extend(
            FeatureSpec(name, "numeric", heat_labels[name], max_bins=4) for name in SCORED_HEAT
        )
    return specs


# ---------------------------------------------------------------------- loading


def load_chicago(inspections: Path, features: Path | None = None) -> ChicagoData:
    """Read and check the CSV files; errors name the option and the column."""
    frame = _read_csv(inspections, "--inspections", INSPECTION_COLUMNS)
    frame["Inspection_Date"] = _dates(frame["Inspection_Date"], "--inspections", "Inspection_Date")
    for column in ("criticalCount", "seriousCount", "minorCount"):
        frame[column] = _numbers(frame[column], "--inspections", column)
    if frame["License"].isna().any():
        row = int(np.flatnonzero(frame["License"].isna().to_numpy())[0]) + 2
        raise BacktestError("--inspections", f"column License: empty on line {row}")
    frame["License"] = frame["License"].astype("int64")
    for column in OPTIONAL_INSPECTION_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame.sort_values(["Inspection_Date", "Inspection_ID"], kind="stable")
    extra = None
    if features is not None:
        extra = _read_csv(features, "--features", FEATURE_COLUMNS)
        extra["ageAtInspection"] = _numbers(
            extra["ageAtInspection"], "--features", "ageAtInspection"
        )
        for column in HEAT:
            extra[column] = _numbers(extra[column], "--features", column)
        extra = extra.drop_duplicates("Inspection_ID").set_index("Inspection_ID")
    return ChicagoData(frame.reset_index(drop=True), extra)


def _read_csv(path: Path, option: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, low_memory=False)
    except FileNotFoundError:
        raise BacktestError(option, f"file not found: {path}") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BacktestError(option, f"cannot read {path}: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BacktestError(option, f"column {missing[0]} is missing from {Path(path).name}")
    if frame.empty:
        raise BacktestError(option, f"{Path(path).name} has no rows")
    return frame


def _dates(values: pd.Series, option: str, column: str) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", format="%Y-%m-%d")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise BacktestError(
            option,
            f"column {column}: not a date (YYYY-MM-DD) on line {row + 2}: {values.iloc[row]!r}",
        )
    return parsed


def _numbers(values: pd.Series, option: str, column: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BacktestError(
            option, f"column {column}: not a number on line {row + 2}: {values.iloc[row]!r}"
        )
    return parsed


# ---------------------------------------------------------------------- features


def _facility(raw: pd.Series) -> np.ndarray:
    text = raw.fillna("").astype(str).str.lower().str.strip()
    out = np.full(len(text), "other", dtype=object)
    out[(text == "restaurant").to_numpy()] = "restaurant"
    for pattern, value in reversed(_FACILITY_PATTERNS):  # first pattern wins
        hit = text.str.contains(pattern, regex=False).to_numpy() & (out == "other")
        out[hit] = value
    out[(text == "").to_numpy()] = None
    return out


def _risk(raw: pd.Series) -> np.ndarray:
    digit = raw.fillna("").astype(str).str.extract(r"Risk\s*([123])", expand=False)
    return np.array([None if pd.isna(d) else f"risk_{d}" for d in digit], dtype=object)


def _result(raw: pd.Series) -> np.ndarray:
    text = raw.fillna("").astype(str).str.lower()
    out = np.full(len(text), None, dtype=object)
    out[text.str.startswith("pass w").to_numpy()] = "pass_with_conditions"
    out[(text == "pass").to_numpy()] = "pass"
    out[text.str.startswith("fail").to_numpy()] = "fail"
    return out


def _names(raw: pd.Series) -> pd.Series:
    return (
        raw.fillna("")
        .astype(str)
        .str.upper()
        .str.replace(r"[^A-Z0-9 ]", "", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def _history(history: pd.DataFrame, licences: np.ndarray, asof: np.ndarray) -> pd.DataFrame:
    """For each (licence, as-of date): the licence's inspections strictly before that date."""
    h = history.sort_values(["License", "Inspection_Date", "Inspection_ID"], kind="stable")
    g = h.groupby("License", sort=False)
    table = pd.DataFrame(
        {
            "License": h["License"].to_numpy(),
            "date": h["Inspection_Date"].to_numpy().astype("datetime64[ns]"),
            "n": g.cumcount().to_numpy() + 1,
            "critical_found": g["found"].cumsum().to_numpy(),
            "last_critical": h["criticalCount"].to_numpy(),
            "last_serious": h["seriousCount"].to_numpy(),
            "last_result": h["result"].to_numpy(),
        }
    ).sort_values("date", kind="stable")
    # merge_asof takes the last row with date <= the key: shift the key one day back so that
    # only inspections strictly before the as-of day count.
    asof = np.asarray(asof).astype("datetime64[ns]")
    query = pd.DataFrame(
        {
            "License": licences,
            "key": asof - np.timedelta64(1, "D"),
            "row": np.arange(len(licences)),
        }
    ).sort_values("key", kind="stable")
    merged = pd.merge_asof(query, table, left_on="key", right_on="date", by="License")
    merged = merged.sort_values("row").reset_index(drop=True)
    out = pd.DataFrame(index=np.arange(len(licences)))
    n = merged["n"].to_numpy(dtype=np.float64)
    out["prior_inspections"] = np.nan_to_num(n, nan=0.0)
    days = (pd.to_datetime(asof) - merged["date"]).dt.days.to_numpy(dtype=np.float64)
    out["days_since_last"] = days
    for column in ("last_critical", "last_serious"):
        out[column] = merged[column].to_numpy(dtype=np.float64)
    out["last_result"] = merged["last_result"].to_numpy(dtype=object)
    out.loc[np.isnan(n), "last_result"] = None
    out["critical_share"] = merged["critical_found"].to_numpy(dtype=np.float64) / n
    return out


def _licence_start(features: pd.DataFrame, inspections: pd.DataFrame) -> pd.Series:
    """Licence issue date per licence (static registry fact) from ageAtInspection."""
    joined = inspections[["Inspection_ID", "License", "Inspection_Date"]].join(
        features[["ageAtInspection"]], on="Inspection_ID", how="inner"
    )
    joined = joined.dropna(subset=["ageAtInspection"])
    start = joined["Inspection_Date"] - pd.to_timedelta(joined["ageAtInspection"] * 365, unit="D")
    return start.groupby(joined["License"]).median()


def _heat_asof(
    data: ChicagoData, when: pd.Timestamp, lat: np.ndarray, lon: np.ndarray
) -> dict[str, np.ndarray]:
    """Mean heat of the nearest recent inspections before ``when`` (missing when none)."""
    out = {name: np.full(lat.shape[0], np.nan) for name in HEAT}
    assert data.features is not None
    frame = data.inspections[["Inspection_ID", "Inspection_Date", "Latitude", "Longitude"]].join(
        data.features[list(HEAT)], on="Inspection_ID", how="inner"
    )
    recent = frame[
        (frame["Inspection_Date"] < when)
        & (frame["Inspection_Date"] >= when - pd.Timedelta(days=HEAT_WINDOW_DAYS))
    ].dropna(subset=["Latitude", "Longitude", *HEAT])
    located = ~(np.isnan(lat) | np.isnan(lon))
    if len(recent) < HEAT_NEIGHBOURS or not located.any():
        return out
    # Equirectangular degrees are fine for ranking neighbours within one city.
    scale = np.cos(np.radians(41.85))
    points = np.column_stack([recent["Latitude"].to_numpy(), recent["Longitude"] * scale])
    index = NearestNeighbors(n_neighbors=HEAT_NEIGHBOURS).fit(points)
    _, nearest = index.kneighbors(np.column_stack([lat[located], lon[located] * scale]))
    for name in HEAT:
        values = recent[name].to_numpy(dtype=np.float64)
        out[name][located] = values[nearest].mean(axis=1)
    return out


def build_features(
    data: ChicagoData, train_before: pd.Timestamp, test_until: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training rows, establishments as of ``train_before``, test inspections)."""
    frame = data.inspections.copy()
    frame["found"] = (frame["criticalCount"] > 0).astype(np.int64)
    frame["result"] = _result(frame["Results"])
    frame["facility_type"] = _facility(frame["Facility_Type"])
    frame["risk_category"] = _risk(frame["Risk"])
    frame["name"] = _names(frame["DBA_Name"])
    train = frame[frame["Inspection_Date"] < train_before].reset_index(drop=True)
    test = frame[
        (frame["Inspection_Date"] >= train_before) & (frame["Inspection_Date"] <= test_until)
    ].reset_index(drop=True)

    # Establishments: every licence known up to the end of the test window; static facts from
    # its latest row before train_before, else from its first row (registry data).
    upto = frame[frame["Inspection_Date"] <= test_until]
    before = upto[upto["Inspection_Date"] < train_before].groupby("License").tail(1)
    later = upto[~upto["License"].isin(before["License"])].groupby("License").head(1)
    est = pd.concat([before, later]).sort_values("License").reset_index(drop=True)

    # Chain size: licences seen under the same name before train_before (the row's own licence
    # counts once even if it was not seen yet).
    known = train.groupby("name")["License"].unique()
    known_sets = {name: set(lics.tolist()) for name, lics in known.items() if name}

    def chain(names: pd.Series, licences: pd.Series) -> np.ndarray:
        return np.array(
            [
                np.nan if not nm else float(len(known_sets.get(nm, set()) | {lic}))
                for nm, lic in zip(names.tolist(), licences.tolist(), strict=True)
            ]
        )

    hist = train  # outcomes before train_before only
    train_hist = _history(hist, train["License"].to_numpy(), train["Inspection_Date"].to_numpy())
    when = np.full(len(est), np.datetime64(train_before.date()), dtype="datetime64[ns]")
    est_hist = _history(hist, est["License"].to_numpy(), when)

    def assemble(base: pd.DataFrame, h: pd.DataFrame) -> pd.DataFrame:
        out = h.copy()
        out["facility_type"] = base["facility_type"].to_numpy()
        out["risk_category"] = base["risk_category"].to_numpy()
        out["chain_size"] = chain(base["name"], base["License"])
        out["License"] = base["License"].to_numpy()
        return out

    train_x = assemble(train, train_hist)
    est_x = assemble(est, est_hist)
    if data.features is not None:
        starts = _licence_start(data.features, frame)
        train_start = train["License"].map(starts)
        age = (train["Inspection_Date"] - train_start).dt.days / 365.25
        train_x["licence_age_years"] = age.clip(lower=0).to_numpy(dtype=np.float64)
        est_age = (train_before - est["License"].map(starts)).dt.days / 365.25
        est_x["licence_age_years"] = est_age.clip(lower=0).to_numpy(dtype=np.float64)
        own = train[["Inspection_ID"]].join(data.features[list(HEAT)], on="Inspection_ID")
        for name in HEAT:
            train_x[name] = own[name].to_numpy(dtype=np.float64)
        heat = _heat_asof(
            data,
            train_before,
            est["Latitude"].to_numpy(dtype=np.float64),
            est["Longitude"].to_numpy(dtype=np.float64),
        )
        for name in HEAT:
            est_x[name] = heat[name]
        train_x["sanitarian"] = (
            train[["Inspection_ID"]]
            .join(data.features[["sanitarian"]], on="Inspection_ID")["sanitarian"]
            .to_numpy(dtype=object)
        )
    train_x["found"] = train["found"].to_numpy()
    train_x["date"] = train["Inspection_Date"].to_numpy()
    return train_x, est_x, test


# ---------------------------------------------------------------------- the run


def _boosted(
    specs: list[FeatureSpec], train_x: pd.DataFrame, est_x: pd.DataFrame, seed: int
) -> np.ndarray:
    """Gradient-boosted trees on the same features (categoricals as categories)."""

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        cols = []
        for spec in specs:
            values = frame[spec.name].to_numpy()
            if spec.type == "categorical":
                lookup = {c: float(i) for i, c in enumerate(spec.categories)}
                cols.append(np.array([lookup.get(v, np.nan) for v in values], dtype=np.float64))
            else:
                cols.append(values.astype(np.float64))
        return np.column_stack(cols)

    categorical = [spec.type == "categorical" for spec in specs]
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=categorical,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=seed,
    )
    model.fit(matrix(train_x), train_x["found"].to_numpy())
    return model.predict_proba(matrix(est_x))[:, 1]


def run_backtest(
    data: ChicagoData,
    train_before: dt.date,
    test_until: dt.date | None = None,
    *,
    c: float = 0.1,
    seed: int = 0,
    card_path: Path | None = None,
) -> dict[str, Any]:
    """Train, score as of ``train_before``, evaluate later; the JSON-ready figures."""
    started = time.perf_counter()
    cut = pd.Timestamp(train_before)
    first = data.inspections["Inspection_Date"].min()
    last = data.inspections["Inspection_Date"].max()
    until = pd.Timestamp(test_until) if test_until else last
    if cut <= first:
        raise BacktestError("--train-before", f"{cut.date()} leaves no inspection to train on")
    if until < cut:
        raise BacktestError("--test-until", f"{until.date()} is before --train-before {cut.date()}")
    train_x, est_x, test = build_features(data, cut, until)
    if train_x["found"].nunique() < 2:
        raise BacktestError("--train-before", "the training inspections need both outcomes")
    if len(test) == 0 or test["criticalCount"].gt(0).nunique() < 2:
        raise BacktestError(
            "--test-until",
            f"the inspections from {cut.date()} to {until.date()} need both outcomes",
        )
    specs = chicago_specs(data.features is not None)
    columns = {spec.name: train_x[spec.name].to_numpy() for spec in specs}
    inspector = train_x["sanitarian"].to_numpy() if "sanitarian" in train_x else None
    title = Text("芝加哥食品检查评分卡（回测）", "Chicago food-inspection scorecard (backtest)")
    common: dict[str, Any] = {
        "card_id": "chicago-food",
        "version": f"backtest-{cut.date()}",
        "title": title,
        "groups": train_x["License"].to_numpy(),
        "c": c,
        "seed": seed,
        "tier_shares": SHARES,
        "meta": {"train_before": str(cut.date()), "source": "City of Chicago canvass inspections"},
    }
    trained = train_scorecard(
        columns, train_x["found"].to_numpy(), specs, inspector=inspector, **common
    )
    # Scores as of train_before for every establishment; the tier cut-offs come from these
    # scores and the target shares (not from the training rows).
    est_columns = {spec.name: est_x[spec.name].to_numpy() for spec in specs}
    card = trained.card
    card = card.replace(cutoffs=cutoffs_from_shares(card.score(est_columns).score, SHARES))
    est_scores = card.score(est_columns)
    score_of = pd.Series(est_scores.score, index=est_x["License"].to_numpy())
    y = (test["criticalCount"] > 0).to_numpy().astype(np.int8)
    dates = test["Inspection_Date"].to_numpy().astype("datetime64[D]")
    lic = test["License"].to_numpy()
    card_risk = -score_of.reindex(lic).to_numpy(dtype=np.float64)

    risk_level = (
        pd.Series({"risk_1": 3.0, "risk_2": 2.0, "risk_3": 1.0})
        .reindex(est_x["risk_category"].to_numpy())
        .fillna(2.0)
        .to_numpy()
    )
    risk_only = pd.Series(risk_level, index=est_x["License"].to_numpy()).reindex(lic).to_numpy()

    boosted_p = _boosted(specs, train_x, est_x, seed)
    boosted = pd.Series(boosted_p, index=est_x["License"].to_numpy()).reindex(lic).to_numpy()

    unadjusted = None
    if inspector is not None:  # the same card without the inspector nuisance term
        plain = train_scorecard(
            columns, train_x["found"].to_numpy(), specs, inspector=None, **common
        ).card
        plain_score = pd.Series(plain.score(est_columns).score, index=est_x["License"].to_numpy())
        unadjusted = evaluate(dates, y, -plain_score.reindex(lic).to_numpy(dtype=np.float64))

    result = evaluate(dates, y, card_risk)
    figures: dict[str, Any] = {
        "format": "chicago",
        "train_before": str(cut.date()),
        "test_until": str(until.date()),
        "train_inspections": len(train_x),
        "test_inspections": len(test),
        "test_days": len(np.unique(dates)),
        "establishments_scored": len(est_x),
        **result.as_dict(),
        "random_order_days_earlier": round(random_order_days_earlier(dates, y), 4),
        "risk_only": evaluate(dates, y, risk_only).as_dict(),
        "boosted": evaluate(dates, y, boosted).as_dict(),
    }
    if unadjusted is not None:
        figures["no_inspector_adjustment"] = unadjusted.as_dict()
    figures["goals"] = {
        "auc": figures["auc"] >= GOALS["auc"],
        "days_earlier": figures["days_earlier"] >= GOALS["days_earlier"],
        "top_quarter_lift": figures["top_quarter_lift"] >= GOALS["top_quarter_lift"],
        "within_0.01_auc_of_boosted": figures["auc"]
        >= figures["boosted"]["auc"] - GOALS["auc_gap_to_boosted"],
    }
    tier_of = pd.Series(est_scores.tier, index=est_x["License"].to_numpy()).reindex(lic)
    tier_codes = tier_of.to_numpy(dtype=np.int64)
    figures["tiers"] = {
        "cutoffs": card.cutoffs.as_dict() if card.cutoffs else None,
        "establishments": _rounded(realised_shares(est_scores.tier)),
        "test_inspections": _rounded(realised_shares(tier_codes)),
        "test_rate": {
            t: round(float(y[tier_codes == i].mean()), 4) if (tier_codes == i).any() else None
            for i, t in enumerate(TIERS)
        },
    }
    figures["scorecard"] = {
        "id": card.id,
        "version": card.version,
        "digest": card.digest,
        "indicators": len(card.indicators),
        "base_points": card.base_points,
        "training_seconds": round(trained.seconds, 2),
        "refits_for_monotonicity": trained.refits,
        "uses_inspector": False,
    }
    if trained.inspectors is not None:
        found = train_x["found"].to_numpy()
        expected = card.probability(card.score(columns).score)
        report = consistency_report(
            train_x["sanitarian"].to_numpy(),
            found,
            expected=expected,
            strictness={
                label: float(e)
                for label, e in zip(
                    trained.inspectors.labels, trained.inspectors.effect, strict=True
                )
            },
        )
        figures["inspectors"] = report.as_dict()
    if card_path is not None:
        card_path.write_text(card.to_json(), encoding="utf-8")
        figures["card_written"] = str(card_path)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return figures


def _rounded(shares: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in shares.items()}


def human(figures: Mapping[str, Any]) -> str:
    """A short text summary of the figures."""
    lines = [
        f"Chicago backtest: train before {figures['train_before']}, "
        f"test {figures['train_before']} .. {figures['test_until']}",
        f"  training inspections {figures['train_inspections']:,}, test inspections "
        f"{figures['test_inspections']:,} on {figures['test_days']} days, establishments scored "
        f"{figures['establishments_scored']:,}",
        f"  base rate (critical violation found) {figures['base_rate']:.4f}",
        f"  {'model':<24}{'AUC':>8}{'KS':>8}{'lift@25%':>10}{'days earlier':>14}",
    ]
    rows = [("scorecard", figures)]
    rows += [
        (k, figures[k]) for k in ("no_inspector_adjustment", "boosted", "risk_only") if k in figures
    ]
    for name, f in rows:
        lines.append(
            f"  {name:<24}{f['auc']:>8.4f}{f['ks']:>8.4f}{f['top_quarter_lift']:>10.3f}"
            f"{f['days_earlier']:>14.2f}"
        )
    goals = ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in figures["goals"].items())
    lines.append(f"  goals: {goals}")
    return "\n".join(lines)
