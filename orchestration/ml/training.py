"""A baseline defect-prediction model per company, judged against the prior rate.

Time-based split (train on the oldest 60 % of labelled units, choose the threshold (best F2) on the next
20 %, test on the newest 20 %), class imbalance handled by balanced class weights, a trivial
prior-rate baseline to beat. A company's model is demonstrable (실증 가능) only when PR-AUC and
ROC-AUC on the test units beat the baseline beyond their bootstrap intervals; otherwise the
result says why in words a consultant can repeat to the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits

from orchestration.ml.features import as_matrix, feature_columns
from orchestration.ml.metrics import AtThreshold, Interval, at_threshold, best_threshold, pr_auc, roc_auc

MIN_UNITS = 200  # labelled units
MIN_DEFECTS = 20  # labelled defective units
MIN_TEST_DEFECTS = 5
MIN_COVERAGE = 0.5  # share of defective units with sensor readings in their window
SPLIT = (0.6, 0.2, 0.2)

REASONS = {
    "demonstrable": ("기준모델(사전 불량률)보다 신뢰구간 밖에서 우수합니다.",
                     "beats the prior-rate baseline beyond the confidence interval"),
    "too_few_units": ("라벨이 있는 생산 단위가 {units}개로 최소 {minimum}개에 못 미칩니다.",
                      "{units} labelled units, fewer than the {minimum} needed"),
    "too_few_defects": ("불량이 {defects}건(시험구간 {test_defects}건)으로 학습·검증에 부족합니다 (최소 {minimum}건).",
                        "{defects} defective units ({test_defects} in the test period), fewer than the {minimum} needed"),
    "no_sensor_coverage": ("불량 단위의 {coverage:.0%}만 공정 구간에 센서 데이터가 있어 불량 구간을 볼 수 없습니다.",
                           "only {coverage:.0%} of defective units have sensor readings in their process window"),
    "no_signal": ("데이터에 아직 쓸 만한 신호가 없습니다: 시험구간 PR-AUC {pr:.3f} (구간 {pr_low:.3f}–{pr_high:.3f})가 "
                  "기준 {baseline:.3f}를 확실히 넘지 못합니다.",
                  "no usable signal yet: test PR-AUC {pr:.3f} (interval {pr_low:.3f}-{pr_high:.3f}) does not clear "
                  "the baseline {baseline:.3f}"),
}


@dataclass
class Verdict:
    demonstrable: bool
    reason: str  # a key of REASONS
    detail: dict = field(default_factory=dict)

    @property
    def reason_ko(self) -> str:
        return REASONS[self.reason][0].format(**self.detail)

    @property
    def reason_en(self) -> str:
        return REASONS[self.reason][1].format(**self.detail)


@dataclass
class TrainingResult:
    company_id: str
    verdict: Verdict
    units: int
    defects: int
    model: HistGradientBoostingClassifier | None = None
    columns: list[str] = field(default_factory=list)
    split_counts: dict = field(default_factory=dict)  # split -> (units, defects)
    training_cutoff_utc: pd.Timestamp | None = None  # end of the last unit the model saw in any split
    threshold: float | None = None
    pr_auc: Interval = Interval(None, None, None)
    roc_auc: Interval = Interval(None, None, None)
    baseline_pr_auc: float | None = None
    baseline_roc_auc: float | None = None
    test: AtThreshold | None = None
    predictions: pd.DataFrame | None = None  # test units: unit_key, end_ts_utc, label, score, predicted
    importance: list[tuple[str, float]] = field(default_factory=list)
    train_distribution: pd.DataFrame | None = None  # training rows of the features (for drift)

    def metrics(self) -> dict[str, float]:
        values = {"units": self.units, "defects": self.defects, "pr_auc": self.pr_auc.value,
                  "pr_auc_low": self.pr_auc.low, "pr_auc_high": self.pr_auc.high, "roc_auc": self.roc_auc.value,
                  "roc_auc_low": self.roc_auc.low, "roc_auc_high": self.roc_auc.high,
                  "baseline_pr_auc": self.baseline_pr_auc, "baseline_roc_auc": self.baseline_roc_auc,
                  "threshold": self.threshold}
        if self.test is not None:
            values.update({f"test_{k}": v for k, v in self.test.as_dict().items() if k != "threshold"})
        return {k: float(v) for k, v in values.items() if v is not None}


def labelled_units(frame: pd.DataFrame) -> pd.DataFrame:
    labelled = frame[frame["is_defect"].notna()].copy()
    labelled["label"] = labelled["is_defect"].astype(bool).astype(int)
    return labelled.sort_values(["end_ts_utc", "unit_key"], kind="stable").reset_index(drop=True)


def sensor_coverage(labelled: pd.DataFrame) -> float:
    """Share of defective units with at least one sensor reading in their window."""
    counts = [c for c in labelled.columns if c.endswith("__readings")]
    defective = labelled[labelled["label"] == 1]
    if not len(defective):
        return 0.0
    if not counts:
        return 0.0
    return float((defective[counts].fillna(0).sum(axis=1) > 0).mean())


def time_split(labelled: pd.DataFrame) -> dict[str, pd.DataFrame]:
    n = len(labelled)
    first, second = int(round(n * SPLIT[0])), int(round(n * (SPLIT[0] + SPLIT[1])))
    return {"train": labelled.iloc[:first], "validation": labelled.iloc[first:second], "test": labelled.iloc[second:]}


def new_model(seed: int = 0) -> HistGradientBoostingClassifier:
    # Shallow trees, no early stopping (its random validation split would break the time order
    # and reproducibility); balanced class weights for ~1 % defects.
    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
                                          l2_regularization=1.0, class_weight="balanced", early_stopping=False,
                                          random_state=seed)


def informative_columns(train: pd.DataFrame, columns: list[str]) -> list[str]:
    """Features that vary on the training units, each distinct column once (a constant column only
    adds noise; on a per-shot table min, max and mean of a shot's single value are one column)."""
    values = train[columns].astype("float64")
    kept, seen = [], set()
    for column in columns:
        series = values[column]
        if not series.notna().any() or series.nunique(dropna=True) < 2:
            continue
        fingerprint = series.fillna(np.inf).to_numpy().tobytes()
        if fingerprint not in seen:
            seen.add(fingerprint)
            kept.append(column)
    return kept


def train_company(frame: pd.DataFrame, company_id: str, *, seed: int = 0, importance: bool = True) -> TrainingResult:
    # One thread: the machine is shared, OpenMP oversubscription costs 10x, and results stay bit-identical.
    with threadpool_limits(1):
        return _train_company(frame, company_id, seed=seed, importance=importance)


def _train_company(frame: pd.DataFrame, company_id: str, *, seed: int, importance: bool) -> TrainingResult:
    labelled = labelled_units(frame)
    units, defects = len(labelled), int(labelled["label"].sum())
    result = TrainingResult(company_id, Verdict(False, "too_few_units", {"units": units, "minimum": MIN_UNITS}),
                            units, defects)
    if units < MIN_UNITS:
        return result
    splits = time_split(labelled)
    result.split_counts = {name: (len(part), int(part["label"].sum())) for name, part in splits.items()}
    test_defects = result.split_counts["test"][1]
    if defects < MIN_DEFECTS or test_defects < MIN_TEST_DEFECTS or result.split_counts["train"][1] == 0:
        result.verdict = Verdict(False, "too_few_defects", {"defects": defects, "test_defects": test_defects,
                                                            "minimum": MIN_DEFECTS})
        return result
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    columns = informative_columns(train, feature_columns(labelled))
    model = new_model(seed).fit(as_matrix(train, columns), train["label"].to_numpy())
    score = lambda part: model.predict_proba(as_matrix(part, columns))[:, 1]  # noqa: E731
    threshold = best_threshold(validation["label"].to_numpy(), score(validation))
    y, p = test["label"].to_numpy(), score(test)
    result.model, result.columns, result.threshold = model, columns, threshold
    result.training_cutoff_utc = labelled["end_ts_utc"].max()
    result.pr_auc, result.roc_auc = pr_auc(y, p, seed=seed), roc_auc(y, p, seed=seed)
    prior = np.full(len(y), train["label"].mean())
    result.baseline_pr_auc = float(pr_auc(y, prior, rounds=1).value)  # = the test defect rate
    result.baseline_roc_auc = float(roc_auc(y, prior, rounds=1).value)  # = 0.5
    result.test = at_threshold(y, p, threshold)
    result.predictions = pd.DataFrame({"unit_key": test["unit_key"].to_numpy(), "unit_id": test["unit_id"].to_numpy(),
                                       "end_ts_utc": test["end_ts_utc"].to_numpy(), "label": y, "score": p,
                                       "predicted": p >= threshold})
    result.train_distribution = train[columns].astype("float64").reset_index(drop=True)
    if importance:
        ranked = permutation_importance(model, as_matrix(test, columns), y, scoring="average_precision", n_repeats=2,
                                        random_state=seed)
        order = np.argsort(-ranked.importances_mean)[:10]
        result.importance = [(columns[i], float(ranked.importances_mean[i])) for i in order]
    coverage = sensor_coverage(labelled)
    if coverage < MIN_COVERAGE:
        result.verdict = Verdict(False, "no_sensor_coverage", {"coverage": coverage})
    elif result.pr_auc.above(result.baseline_pr_auc) and result.roc_auc.above(0.5):
        result.verdict = Verdict(True, "demonstrable")
    else:
        result.verdict = Verdict(False, "no_signal", {"pr": result.pr_auc.value, "pr_low": result.pr_auc.low,
                                                      "pr_high": result.pr_auc.high,
                                                      "baseline": result.baseline_pr_auc})
    return result
