"""Sensors decide *what* to run; the assets decide how."""

import hashlib
import json

import dagster as dg

from orchestration.ingest.landing import discover_landing
from orchestration.ingest.mapping import load_mappings
from orchestration.jobs import ingest_company_job, registry_job
from orchestration.lakehouse.registry import read_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource


def landing_fingerprints(lake: LakeResource) -> tuple[dict[str, str], str, list[str]]:
    """Per company, a fingerprint of its landing files (path, size, mtime); and one for the files
    that belong to no known company."""
    companies = sorted(read_registry(lake.registry_file).listed)  # faulty entries too: their runs say why
    # the mappings' completion markers: a file waiting for its marker changes no fingerprint
    scan = discover_landing(lake.landing, set(companies),
                            mappings=load_mappings({c: lake.mapping_file(c) for c in companies}))
    per_company: dict[str, list] = {c: [] for c in companies}
    for f in scan.files:
        per_company.setdefault(f.company_id, []).append((f.relative_path, f.size, f.mtime))
    digest = lambda items: hashlib.sha256(json.dumps(sorted(items), default=str).encode()).hexdigest()[:16]
    fingerprints = {c: digest(items) for c, items in per_company.items() if items}
    unattributed = digest([(r.file, r.reason) for r in scan.rejected]) if scan.rejected else ""
    return fingerprints, unattributed, companies


IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def companies_with_ingest_in_progress(instance: dg.DagsterInstance) -> set[str]:
    """Companies that have an ingest run queued or running (by the run's `company` tag, or its partition)."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=ingest_company_job.name, statuses=IN_PROGRESS))
    return {run.tags.get("company") or run.tags.get("dagster/partition") for run in runs} - {None}


def died_ingest(instance: dg.DagsterInstance, company: str) -> str | None:
    """The run id of the company's latest ingest run when it failed without any asset failing (its
    worker was killed, and the automatic retry too): its files are still waiting to be landed.
    A run that failed on the input (bad mapping, faulty registry entry) is not asked again."""
    latest = instance.get_runs(filters=dg.RunsFilter(job_name=ingest_company_job.name, tags={"company": company}),
                               limit=1)
    if not latest or latest[0].status != dg.DagsterRunStatus.FAILURE:
        return None
    if instance.all_logs(latest[0].run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        return None
    return latest[0].run_id


@dg.sensor(
    jobs=[ingest_company_job, registry_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches lake/landing/<company>/ and requests an ingest run for each company whose "
    "files are new or changed; registers companies added to clients/registry.yaml.",
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    fingerprints, unattributed, companies = landing_fingerprints(lake)
    cursor = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(company_partitions.name))
    new_partitions = [c for c in companies if c not in known]

    # A company with an ingest queued or running gets no new request now: its cursor entry stays as
    # it was, so the change is requested on the first tick after that run ends.
    busy = companies_with_ingest_in_progress(context.instance)
    run_requests = []
    for company, fp in sorted(fingerprints.items()):
        if company in busy:
            continue
        if cursor.get(company) != fp:
            run_key = f"{company}:{fp}"
        elif (died := died_ingest(context.instance, company)) is not None:
            run_key = f"{company}:{fp}:after:{died}"  # nothing changed, but the last ingest never finished
        else:
            continue
        run_requests.append(dg.RunRequest(run_key=run_key, partition_key=company, job_name=ingest_company_job.name,
                                          tags={"company": company}))
    if (unattributed and cursor.get("_unattributed") != unattributed) or new_partitions:
        run_requests.append(dg.RunRequest(run_key=f"registry:{unattributed}:{','.join(new_partitions)}",
                                          job_name=registry_job.name))
    cursor = {**{c: (cursor.get(c) if c in busy else fp) for c, fp in fingerprints.items()},
              "_unattributed": unattributed}
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=json.dumps(cursor),
        dynamic_partitions_requests=[company_partitions.build_add_request(new_partitions)] if new_partitions else [],
    )
