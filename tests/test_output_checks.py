"""Checks beyond dbt's tests, on features, KPIs and reports: each passes on consistent data and
fails, naming the company, on data made wrong in one known way."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.checks import REPORT_BUDGET_BYTES, report_file_check, report_file_outcome
from orchestration.feature_checks import label_balance_outcome, unit_counts, unit_rows_outcome
from orchestration.kpi_checks import kpi_mismatches, output_breakdown_problems, reconcile_outcome

# company -> (lots, units, labelled, defective)
UNITS = {"A-OK": (20, 20, 18, 3), "B-NODEF": (10, 10, 10, 0), "C-NOUNITS": (5, 0, 0, 0), "D-INVERTED": (10, 10, 10, 8),
         "E-NOLABEL": (4, 4, 0, 0)}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema features; create schema kpi")
    con.execute("create table main.fct_production_lots (company_id varchar, lot_key varchar, quantity double, "
                "defect_quantity double)")
    con.execute("create table features.production_units (company_id varchar, unit_key varchar, is_defect boolean)")
    for company, (lots, units, labelled, defective) in UNITS.items():
        con.executemany("insert into main.fct_production_lots values (?, ?, 10, 1)",
                        [(company, f"{company}-{i}") for i in range(lots)])
        labels = [True] * defective + [False] * (labelled - defective) + [None] * (units - labelled)
        for i, label in enumerate(labels):
            con.execute("insert into features.production_units values (?, ?, ?)", (company, f"{company}-{i}", label))
    yield con
    con.close()


def test_unit_rows_fail_naming_the_company_that_produced_lots_but_has_no_units(con):
    rows = unit_counts(con)
    assert {r["company_id"]: (r["lots"], r["units"], r["labelled"], r["defective"]) for r in rows} == UNITS
    outcome = unit_rows_outcome(rows)
    assert not outcome.passed and outcome.severity == dg.AssetCheckSeverity.ERROR
    assert outcome.metadata["companies_without_units"].value == "C-NOUNITS"
    assert outcome.metadata["dagster/row_count"].value == sum(u for _, u, _, _ in UNITS.values())
    assert unit_rows_outcome([r for r in rows if r["company_id"] != "C-NOUNITS"]).passed


def test_label_balance_warns_naming_each_company_whose_labels_cannot_train_a_model(con):
    outcome = label_balance_outcome(unit_counts(con))
    assert not outcome.passed and outcome.severity == dg.AssetCheckSeverity.WARN
    assert outcome.metadata["companies_unbalanced"].value == "B-NODEF, D-INVERTED, E-NOLABEL"
    assert "B-NODEF: no defective unit among 10 labelled" in outcome.description
    assert "D-INVERTED: 80% of labelled units defective" in outcome.description
    assert outcome.metadata["defect_share"].value == pytest.approx(
        sum(d for *_, d in UNITS.values()) / sum(lab for _, _, lab, _ in UNITS.values()))
    con.execute("delete from features.production_units where company_id in ('B-NODEF', 'D-INVERTED', 'E-NOLABEL')")
    con.execute("delete from main.fct_production_lots where company_id in ('B-NODEF', 'D-INVERTED', 'E-NOLABEL')")
    assert label_balance_outcome(unit_counts(con)).passed


@pytest.fixture
def marts(con):
    con.execute("create table main.fct_sensor_readings as select 'A-OK' as company_id from range(7) "
                "union all select 'B-NODEF' from range(3)")
    con.execute("create table main.fct_quality_inspections (company_id varchar, is_defect boolean)")
    con.execute("insert into main.fct_quality_inspections values ('A-OK', true), ('A-OK', false), ('B-NODEF', false)")
    con.execute("create table main.fct_equipment_events as select 'A-OK' as company_id from range(2)")
    companies = sorted(UNITS)
    # the KPI as it should be, counted here from UNITS and the rows above, not by the check's SQL
    readings = {"A-OK": 7, "B-NODEF": 3}
    inspections, failed = {"A-OK": 2, "B-NODEF": 1}, {"A-OK": 1}
    con.execute("create table kpi.company_data_volume (company_id varchar, sensor_readings bigint, "
                "production_lots bigint, quality_inspections bigint, equipment_events bigint)")
    con.executemany("insert into kpi.company_data_volume values (?, ?, ?, ?, ?)",
                    [(c, readings.get(c, 0), UNITS[c][0], inspections.get(c, 0), 2 if c == "A-OK" else 0)
                     for c in companies])
    con.execute("create table kpi.company_defect_rate (company_id varchar, inspections bigint, failed_inspections bigint)")
    con.executemany("insert into kpi.company_defect_rate values (?, ?, ?)",
                    [(c, inspections.get(c, 0), failed.get(c, 0)) for c in companies])
    return con


def test_kpis_reconcile_with_the_facts_and_fail_naming_company_and_column_when_not(marts):
    for mart in ("company_data_volume", "company_defect_rate"):
        mismatches, companies = kpi_mismatches(marts, mart)
        assert mismatches == [] and companies == len(UNITS) and reconcile_outcome(mart, mismatches, companies).passed
    # a KPI built before the latest warehouse build: B's new readings are in the facts, not in the KPI
    marts.execute("insert into main.fct_sensor_readings select 'B-NODEF' from range(4)")
    # and a company the KPI left out entirely
    marts.execute("delete from kpi.company_defect_rate where company_id = 'A-OK'")
    mismatches, companies = kpi_mismatches(marts, "company_data_volume")
    assert mismatches == [{"company_id": "B-NODEF", "column": "sensor_readings", "kpi": 3, "recounted": 7}]
    outcome = reconcile_outcome("company_data_volume", mismatches, companies)
    assert not outcome.passed and outcome.metadata["companies_off"].value == "B-NODEF"
    mismatches, _ = kpi_mismatches(marts, "company_defect_rate")
    assert {(m["company_id"], m["column"], m["recounted"]) for m in mismatches} == {
        ("A-OK", "inspections", 2), ("A-OK", "failed_inspections", 1)}


def test_programme_outputs_breakdowns_must_add_up_to_their_totals(con):
    con.execute("create table kpi.programme_outputs (programme_year integer, kpi_code varchar, breakdown varchar, "
                "breakdown_code varchar, actual double)")
    rows = [(2026, "companies_supported", "total", "", 5), (2026, "companies_supported", "region", "cheongju", 3),
            (2026, "companies_supported", "region", "jincheon", 2), (2026, "companies_supported", "industry", "food", 4),
            (2026, "datasets_collected", "total", "", 9), (2026, "datasets_standardised", "total", "", 8)]
    con.executemany("insert into kpi.programme_outputs values (?, ?, ?, ?, ?)", rows)
    assert output_breakdown_problems(con) == []
    con.execute("update kpi.programme_outputs set actual = 1 where breakdown_code = 'jincheon'")
    con.execute("update kpi.programme_outputs set actual = 10 where kpi_code = 'datasets_standardised'")
    assert output_breakdown_problems(con) == [
        "2026: companies supported per region add up to 4, the total is 5",
        "2026: 10 datasets standardised but only 9 collected"]


def test_report_file_outcome_fails_when_missing_empty_or_over_budget(tmp_path):
    report = tmp_path / "index.html"
    assert not report_file_outcome(None, 100).passed
    assert not report_file_outcome(str(report), 100).passed  # missing
    report.write_bytes(b"")
    assert not report_file_outcome(str(report), 100).passed
    report.write_bytes(b"x" * 101)
    assert not report_file_outcome(str(report), 100).passed
    report.write_bytes(b"x" * 100)
    assert report_file_outcome(str(report), 100).passed


def test_report_check_reads_the_file_the_reports_latest_materialisation_wrote(tmp_path):
    key = dg.AssetKey(["reports", "programme_kpi_dashboard"])
    check = report_file_check(key, "path", REPORT_BUDGET_BYTES, per_company=False, what="The dashboard")
    written = {"bytes": b"<html>KPI</html>"}

    @dg.asset(key=key)
    def dashboard() -> dg.MaterializeResult:
        path = tmp_path / "index.html"
        path.write_bytes(written["bytes"])
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    instance = dg.DagsterInstance.ephemeral()
    [good] = dg.materialize([dashboard, check], instance=instance).get_asset_check_evaluations()
    assert good.passed and good.metadata["bytes"].value == len(written["bytes"])
    written["bytes"] = b""
    [bad] = dg.materialize([dashboard, check], instance=instance).get_asset_check_evaluations()
    assert not bad.passed and "empty" in bad.description


def test_the_definitions_carry_the_checks_on_features_kpis_and_reports():
    from orchestration.definitions import defs

    checks = {(k.asset_key.to_user_string(), k.name) for k in defs().resolve_asset_graph().asset_check_keys}
    assert {("warehouse/production_units", "units_per_company"), ("warehouse/production_units", "label_balance"),
            ("kpis/company_data_volume", "reconciles_with_marts"), ("kpis/company_defect_rate", "reconciles_with_marts"),
            ("kpis/programme_outputs", "breakdowns_add_up"), ("reports/quality_report", "report_written"),
            ("reports/ai_demonstration", "report_written"), ("reports/programme_kpi_dashboard", "report_written"),
            ("reports/programme_kpi_workbook", "report_written")} <= checks
