"""The client registry: shifts are optional, and when given must cover the day exactly once."""

from __future__ import annotations

import pytest

from orchestration.lakehouse.registry import RegistryError, load_registry, read_registry, registry_tables

COMPANY = """companies:
  - company_id: CJ-BAT-09
    name_ko: (주)테스트셀
    name_en: Test Cell Co., Ltd.
    region: cheongju
    industry: "28202"
    size_band: small
    cohort_year: 2026
"""


def registry(tmp_path, shifts: str = ""):
    path = tmp_path / "registry.yaml"
    path.write_text(COMPANY + shifts, encoding="utf-8")
    return path


def test_a_company_without_shifts_lands_no_shift_rows(tmp_path):
    companies = load_registry(registry(tmp_path))
    assert companies[0].shifts == ()
    assert registry_tables(companies)["company_shifts"].num_rows == 0


def test_three_crews_land_as_clock_times(tmp_path):
    companies = load_registry(registry(tmp_path, """    shifts:
      - {code: C, name_ko: 3조, start: "22:00", end: "06:00"}
      - {code: A, name_ko: 1조, name_en: First, start: "06:00", end: "14:00"}
      - {code: B, name_ko: 2조, start: "14:00", end: "22:00"}
"""))
    rows = registry_tables(companies)["company_shifts"].to_pylist()
    assert [(r["shift_code"], r["name_en"], r["start_time_kst"], r["end_time_kst"]) for r in rows] == [
        ("C", "C", "22:00:00", "06:00:00"), ("A", "First", "06:00:00", "14:00:00"), ("B", "B", "14:00:00", "22:00:00")]


@pytest.mark.parametrize("shifts, message", [
    ("""      - {code: D, name_ko: 주간, start: "08:00", end: "17:00"}
      - {code: N, name_ko: 야간, start: "20:00", end: "08:00"}
""", "shift D ends at 17:00 but the next shift, N, starts at 20:00"),
    ("""      - {code: D, name_ko: 주간, start: "08:00", end: "21:00"}
      - {code: N, name_ko: 야간, start: "20:00", end: "08:00"}
""", "shift D ends at 21:00 but the next shift, N, starts at 20:00"),
    # unquoted 20:00 is the base-60 integer 1200 to YAML 1.1
    ("""      - {code: D, name_ko: 주간, start: "08:00", end: 20:00}
      - {code: N, name_ko: 야간, start: "20:00", end: "08:00"}
""", 'write it quoted, e.g. "06:00"'),
    ("""      - {code: D, name_ko: 주간, start: "8 o'clock", end: "20:00"}
""", "is not a clock time"),
    ("""      - {code: D, name_ko: 주간, start: "08:00", end: "20:00"}
      - {code: D, name_ko: 야간, start: "20:00", end: "08:00"}
""", "shift codes repeat"),
    ("""      - {code: D, start: "08:00", end: "20:00"}
""", "missing name_ko"),
])
def test_shifts_that_do_not_cover_the_day_once_are_refused_with_the_company_named(tmp_path, shifts, message):
    with pytest.raises(RegistryError) as error:
        load_registry(registry(tmp_path, "    shifts:\n" + shifts))
    assert "CJ-BAT-09" in str(error.value) and message in str(error.value)


def test_industries_are_ksic_codes_and_an_unknown_one_names_the_company(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(COMPANY.replace('industry: "28202"', "industry: 25"), encoding="utf-8")
    assert load_registry(path)[0].industry == "25"  # an unquoted division number is read as its code
    path.write_text(COMPANY.replace('industry: "28202"', "industry: battery"), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"CJ-BAT-09.*industry 'battery' is not a KSIC code"):
        load_registry(path)
    second = COMPANY.split("\n", 1)[1].replace("CJ-BAT-09", "CJ-BAT-10")
    path.write_text(COMPANY.replace('industry: "28202"', "industry: 35") + second, encoding="utf-8")
    registry = read_registry(path)  # the faulty entry fails only its own company
    assert [c.company_id for c in registry.companies] == ["CJ-BAT-10"]
    assert "industry 35" in registry.problems["CJ-BAT-09"]

def test_outcome_periods_and_consent_land_in_the_programme_table(tmp_path):
    companies = load_registry(registry(tmp_path, """    outcome_periods:
      baseline: {from: 2025-06-01, to: 2025-08-31}
      followup: {from: 2026-09-01, to: 2026-11-30}
    data_contribution_consent: true
"""))
    row = registry_tables(companies)["company_programme"].to_pylist()[0]
    assert (str(row["baseline_from"]), str(row["baseline_to"]), str(row["followup_from"]), str(row["followup_to"])) == (
        "2025-06-01", "2025-08-31", "2026-09-01", "2026-11-30")
    assert row["data_contribution_consent"] is True


def test_a_company_without_outcome_periods_has_empty_ones_and_no_consent(tmp_path):
    row = registry_tables(load_registry(registry(tmp_path)))["company_programme"].to_pylist()[0]
    assert row["baseline_from"] is None and row["followup_to"] is None and row["data_contribution_consent"] is False


@pytest.mark.parametrize("block, message", [
    ("""    outcome_periods:
      baseline: {from: 2026-09-01, to: 2026-10-31}
      followup: {from: 2026-10-01, to: 2026-11-30}
""", "baseline period must end before the follow-up period starts"),
    ("""    outcome_periods:
      baseline: {from: 2026-09-01}
""", "needs both from and to"),
    ("""    outcome_periods:
      before: {from: 2026-09-01, to: 2026-09-30}
""", "unknown period"),
    ("""    outcome_periods:
      baseline: {from: 2026-09-30, to: 2026-09-01}
""", "ends (2026-09-01) before it starts"),
    ("""    data_contribution_consent: "yes"
""", "must be true or false"),
])
def test_bad_outcome_periods_or_consent_are_named(tmp_path, block, message):
    with pytest.raises(RegistryError, match="CJ-BAT-09") as error:
        load_registry(registry(tmp_path, block))
    assert message in str(error.value)
