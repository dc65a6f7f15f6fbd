"""The instance configuration the project writes is one Dagster accepts, with the limits chosen
for this machine: four runs at once, one per company, one writer in the warehouse pool."""

from __future__ import annotations

import dagster as dg

from orchestration.instance import write_instance_config


def test_the_written_instance_limits_runs_per_machine_and_company_and_the_warehouse_pool(tmp_path):
    write_instance_config(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        concurrency = instance.get_concurrency_config()  # what the run queue daemon dequeues by
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        [company] = concurrency.run_queue_config.tag_concurrency_limits
        assert company["key"] == "company" and company["limit"] == 1
        assert concurrency.pool_config.default_pool_limit == 1
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
