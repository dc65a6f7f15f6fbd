"""Runs only for real change, as the automation sensor decides them: after the demo has built
everything, a tick with nothing new requests nothing; one company's new file leads to exactly one
warehouse run; several companies' files landed between two ticks share that one run; and the
build's own materialisations start no second wave."""

from __future__ import annotations

import dagster as dg
import pytest

# How the automation sensor turns a tick's requested assets into runs (dagster 1.13); the public
# evaluate_automation_conditions says which assets, this says how many runs they make.
from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests

from orchestration.definitions import defs
from orchestration.partitions import company_partitions

COMPANIES = ["A-ONE", "B-TWO"]
NEW_FILE = ("sensor_readings", "ingest_log")  # what an ingest of one sensor export materialises


class Automation:
    def __init__(self):
        self.defs = defs()
        self.graph = self.defs.resolve_asset_graph()
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions(company_partitions.name, COMPANIES)
        self.cursor = None

    def materialise(self, partitions_by_key: dict) -> None:
        for key in self.graph.toposorted_asset_keys:  # parents first, as a run writes them
            for partition in partitions_by_key.get(key, ()):
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))

    def everything(self) -> dict:
        return {k: (COMPANIES if self.graph.get(k).is_partitioned else [None]) for k in self.graph.materializable_asset_keys}

    def ingest(self, company: str) -> None:
        self.materialise({dg.AssetKey(["bronze", t]): [company] for t in NEW_FILE})

    def tick(self) -> tuple[dict, list]:
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        requested = {k: result.get_requested_partitions(k) for k in self.graph.get_all_asset_keys()
                     if result.get_requested_partitions(k)}
        return requested, list(build_run_requests(result._requested_subsets, self.graph, {}, emit_backfills=False))


@pytest.fixture(scope="module")
def automation():
    automation = Automation()
    automation.materialise(automation.everything())  # `make pipeline` built it all
    assert automation.tick() == ({}, [])
    return automation


def _run_the_build(automation: Automation, requested: dict) -> None:
    automation.materialise({k: list(p) for k, p in requested.items()})


def test_a_tick_without_change_and_a_no_op_ingest_request_nothing(automation):
    # a no-op ingest materialises nothing (tests/lakehouse/test_ingest_asset.py): the instance sees no event
    assert automation.tick() == ({}, [])


def test_one_new_file_leads_to_exactly_one_warehouse_run_and_no_second_wave(automation):
    automation.ingest(COMPANIES[0])
    requested, runs = automation.tick()
    assert len(runs) == 1
    keys = {k.to_user_string() for k in requested}
    assert {"warehouse/stg_sensor_readings", "warehouse/fct_sensor_readings", "warehouse/fct_landing_files"} <= keys
    assert not any(k.startswith("bronze/") for k in keys)
    _run_the_build(automation, requested)
    assert automation.tick() == ({}, [])  # the build's own materialisations start nothing more
    assert automation.tick() == ({}, [])


def test_new_files_of_several_companies_between_two_ticks_share_one_build(automation):
    for company in COMPANIES:
        automation.ingest(company)
    requested, runs = automation.tick()
    assert len(runs) == 1 and requested
    _run_the_build(automation, requested)
    assert automation.tick() == ({}, [])
