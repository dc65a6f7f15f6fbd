"""Sensors decide *what* to run; the assets decide how."""

import hashlib
import json

import dagster as dg

from orchestration.ingest.landing import discover_landing
from orchestration.jobs import ingest_company_job, registry_job
from orchestration.lakehouse.registry import load_registry
from orchestration.partitions import company_partitions
from orchestration.resources import LakeResource


def landing_fingerprints(lake: LakeResource) -> tuple[dict[str, str], str, list[str]]:
    """Per company, a fingerprint of its landing files (path, size, mtime); and one for the files
    that belong to no known company."""
    companies = [c.company_id for c in load_registry(lake.registry_file)]
    scan = discover_landing(lake.landing, set(companies))
    per_company: dict[str, list] = {c: [] for c in companies}
    for f in scan.files:
        per_company.setdefault(f.company_id, []).append((f.relative_path, f.size, f.mtime))
    digest = lambda items: hashlib.sha256(json.dumps(sorted(items), default=str).encode()).hexdigest()[:16]
    fingerprints = {c: digest(items) for c, items in per_company.items() if items}
    unattributed = digest([(r.file, r.reason) for r in scan.rejected]) if scan.rejected else ""
    return fingerprints, unattributed, companies


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

    run_requests = [
        dg.RunRequest(run_key=f"{company}:{fp}", partition_key=company, job_name=ingest_company_job.name,
                      tags={"company": company})
        for company, fp in sorted(fingerprints.items())
        if cursor.get(company) != fp
    ]
    if (unattributed and cursor.get("_unattributed") != unattributed) or new_partitions:
        run_requests.append(dg.RunRequest(run_key=f"registry:{unattributed}:{','.join(new_partitions)}",
                                          job_name=registry_job.name))
    cursor = {**fingerprints, "_unattributed": unattributed}
    return dg.SensorResult(
        run_requests=run_requests,
        cursor=json.dumps(cursor),
        dynamic_partitions_requests=[company_partitions.build_add_request(new_partitions)] if new_partitions else [],
    )
