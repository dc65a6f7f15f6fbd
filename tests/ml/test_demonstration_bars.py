"""Issue 14's demonstration bars on warehouse-shaped units (seconds each, small data).

- a defect pattern inside the unit's window is learnt: test ROC-AUC >= 0.85, PR-AUC >= 5 x the
  defect rate, and the company is demonstrable;
- the same pattern placed only after the unit ended gives ROC-AUC within 0.5 +/- 0.1 (nothing
  after the end leaks into the features), and the company is not demonstrable;
- a company with no planted pattern is not demonstrable, and its result says why;
- the same holds on a wide per-shot table (one row per shot, 42 process columns, ~1 % defects).
"""

from __future__ import annotations

import pytest

from orchestration.ml.training import train_company
from orchestration.sample_clients.warehouse_units import lot_units, shot_units

pytestmark = pytest.mark.demonstration


def test_pattern_inside_the_window_is_learnt(frame_of):
    sample = lot_units(units=3000, pattern="inside")
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    test_rate = result.split_counts["test"][1] / result.split_counts["test"][0]
    assert result.roc_auc.value >= 0.85
    assert result.pr_auc.value >= 5 * test_rate
    assert result.verdict.demonstrable, result.verdict.reason_en
    assert result.baseline_pr_auc == pytest.approx(test_rate) and result.baseline_roc_auc == 0.5
    assert result.test.tp + result.test.fn == result.split_counts["test"][1]


def test_pattern_after_the_unit_end_is_not_learnt(frame_of):
    sample = lot_units(units=4000, pattern="after")
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    assert result.split_counts["test"][1] >= 20  # enough defects for the AUC to mean something
    assert 0.4 <= result.roc_auc.value <= 0.6
    assert not result.verdict.demonstrable


def test_company_without_a_pattern_is_not_demonstrable(frame_of):
    sample = lot_units(units=3000, pattern=None, fail_normal=0.03, seed=11)
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    assert result.defects >= 60  # enough defects to train: the verdict is about signal, not counts
    assert not result.verdict.demonstrable
    assert result.verdict.reason == "no_signal"
    assert "신호" in result.verdict.reason_ko and "no usable signal" in result.verdict.reason_en


def test_too_few_defects_says_so(frame_of):
    sample = lot_units(units=400, pattern=None, fail_normal=0.005, seed=12)
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    assert result.verdict.reason == "too_few_defects" and not result.verdict.demonstrable
    assert f"{result.defects}건" in result.verdict.reason_ko


def test_wide_per_shot_table(frame_of):
    sample = shot_units(shots=6000, columns=42, pattern="inside")
    assert 0.005 <= sample.defect_rate <= 0.02
    frame = frame_of(sample)
    assert len(frame) == 6000 and sum(c.endswith("__mean_value") for c in frame.columns) == 42
    assert set(frame.unit_kind) == {"shot"}
    result = train_company(frame, sample.company_id)
    test_rate = result.split_counts["test"][1] / result.split_counts["test"][0]
    assert result.roc_auc.value >= 0.85 and result.pr_auc.value >= 5 * test_rate
    assert result.verdict.demonstrable
    assert {name for name, _ in result.importance[:2]} == {"process_00__max_value", "process_01__max_value"} or \
        {name.split("__")[0] for name, _ in result.importance[:2]} == {"process_00", "process_01"}


def test_wide_per_shot_pattern_after_the_shot(frame_of):
    sample = shot_units(shots=6000, columns=42, pattern="after")
    result = train_company(frame_of(sample), sample.company_id, importance=False)
    assert 0.4 <= result.roc_auc.value <= 0.6 and not result.verdict.demonstrable
