"""The shape of every bronze Delta table: the contract between ingestion and the warehouse.

Parsers produce the *content* columns (including ``_source_row``); the bronze writer adds the
remaining lineage columns. dbt's bronze sources declare exactly these columns.
"""

from __future__ import annotations

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

DATASETS = ("sensor_readings", "production_lots", "quality_inspections", "equipment_events", "work_orders",
            "shipments")

CONTENT_SCHEMAS: dict[str, pa.Schema] = {
    "sensor_readings": pa.schema(
        [
            ("company_id", pa.string()),
            ("line_id", pa.string()),
            ("equipment_id", pa.string()),
            ("source_tag", pa.string()),  # the client's own name for the sensor (column or tag)
            ("tag", pa.string()),  # standard tag code (seeds/tag_dictionary.csv)
            ("value", pa.float64()),  # as sent, in `unit`; SI conversion happens in dbt staging
            ("unit", pa.string()),  # unit code (seeds/unit_conversions.csv)
            ("reading_ts", UTC_TS),
            ("sequence_id", pa.string()),  # the shot/cycle/sample id the mapping names (`sequence:`), else null
            ("lot_id", pa.string()),  # the lot/batch/shot the reading belongs to (`lot:`), else null
            ("_source_row", pa.int64()),
        ]
    ),
    "production_lots": pa.schema(
        [
            ("company_id", pa.string()),
            ("line_id", pa.string()),
            ("equipment_id", pa.string()),
            ("lot_id", pa.string()),
            ("product_code", pa.string()),
            ("start_ts", UTC_TS),
            ("end_ts", UTC_TS),
            ("quantity", pa.float64()),
            ("defect_quantity", pa.float64()),
            ("quantity_unit", pa.string()),  # ea | kg | m | L ... (the mapping's `quantity_unit`, default ea)
            ("_source_row", pa.int64()),
        ]
    ),
    "quality_inspections": pa.schema(
        [
            ("company_id", pa.string()),
            ("line_id", pa.string()),
            ("lot_id", pa.string()),
            ("inspected_at", UTC_TS),
            ("characteristic", pa.string()),
            ("measured_value", pa.float64()),
            ("lower_spec", pa.float64()),
            ("upper_spec", pa.float64()),
            ("unit", pa.string()),
            ("result", pa.string()),  # pass | fail
            ("defect_type", pa.string()),  # client's label; standardised in dbt
            ("_source_row", pa.int64()),
        ]
    ),
    "equipment_events": pa.schema(
        [
            ("company_id", pa.string()),
            ("line_id", pa.string()),
            ("equipment_id", pa.string()),
            ("event_ts", UTC_TS),
            ("event_type", pa.string()),  # run | stop | alarm
            ("event_code", pa.string()),
            ("message", pa.string()),
            ("_source_row", pa.int64()),
        ]
    ),
    # MES work orders (작업지시); a wide export's 1st..10th shipment columns land in `shipments`
    "work_orders": pa.schema(
        [
            ("company_id", pa.string()),
            ("line_id", pa.string()),
            ("order_id", pa.string()),
            ("product_code", pa.string()),
            ("ordered_at", UTC_TS),
            ("due_at", UTC_TS),
            ("quantity", pa.float64()),
            ("quantity_unit", pa.string()),
            ("_source_row", pa.int64()),
        ]
    ),
    "shipments": pa.schema(
        [
            ("company_id", pa.string()),
            ("order_id", pa.string()),
            ("shipment_no", pa.int32()),  # 1 for the 1st shipment (1차 출하) ...
            ("shipped_at", UTC_TS),
            ("quantity", pa.float64()),
            ("quantity_unit", pa.string()),
            ("_source_row", pa.int64()),
        ]
    ),
}

# The client registry (clients/registry.yaml) is landed as two bronze tables as well, so the
# warehouse's company dimension has the same lineage as every fact.
REGISTRY_SCHEMAS: dict[str, pa.Schema] = {
    "companies": pa.schema(
        [
            ("company_id", pa.string()),
            ("name_ko", pa.string()),
            ("name_en", pa.string()),
            ("region", pa.string()),
            ("industry", pa.string()),
            ("size_band", pa.string()),
            ("cohort_year", pa.int32()),
            ("registry_loaded_at", UTC_TS),
        ]
    ),
    "support_stages": pa.schema(
        [
            ("company_id", pa.string()),
            ("stage", pa.string()),
            ("started", pa.date32()),
            ("completed", pa.date32()),
            ("registry_loaded_at", UTC_TS),
        ]
    ),
    # a company's own work shifts (근무조); companies without any get the warehouse's default pattern
    "company_shifts": pa.schema(
        [
            ("company_id", pa.string()),
            ("shift_code", pa.string()),
            ("name_ko", pa.string()),
            ("name_en", pa.string()),
            # "HH:MM:SS": Delta has no time-of-day type
            ("start_time_kst", pa.string()),
            ("end_time_kst", pa.string()),
            ("registry_loaded_at", UTC_TS),
        ]
    ),
    # programme facts per company: before/after periods of the outcome KPIs, consent to publish data
    "company_programme": pa.schema(
        [
            ("company_id", pa.string()),
            ("baseline_from", pa.date32()),
            ("baseline_to", pa.date32()),
            ("followup_from", pa.date32()),
            ("followup_to", pa.date32()),
            ("data_contribution_consent", pa.bool_()),
            ("delivery_cadence", pa.string()),
            ("registry_loaded_at", UTC_TS),
        ]
    ),
}

LINEAGE_FIELDS = [
    ("_source_file", pa.string()),  # path relative to the landing root
    ("_source_hash", pa.string()),  # sha256 of the file's bytes
    ("_ingested_at", UTC_TS),
    ("_ingest_run_id", pa.string()),
    ("_dataset_entry", pa.string()),  # the mapping entry that produced the row (its `name:`)
    ("_mapping_version", pa.string()),  # first 16 hex of the sha256 of the mapping file
]


def bronze_schema(dataset: str) -> pa.Schema:
    schema = CONTENT_SCHEMAS[dataset]
    for name, type_ in LINEAGE_FIELDS:
        schema = schema.append(pa.field(name, type_))
    return schema
