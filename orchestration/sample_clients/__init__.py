"""Seeded sample exports for the registered clients, written exactly as each client's mapping
describes its files (encoding, delimiter, title lines, timestamp format incl. 오전/오후, wide or
long layout, units converted from SI with the unit seed, result/event labels), so a new mapping
gets sample data without code changes.

    from orchestration.sample_clients import generate_sample, PlantedDefect
    manifest = generate_sample(Path("lake/landing"), seed=42, days=3)

`generate_sample` also writes `<landing>/../sample_manifest.json`: every file (path, dataset,
rows, encoding, landed_at_utc = the file's mtime), per company the equipment, sensors and counts,
every planted defect with company, equipment, source tag, standard tag, UTC window
[start_utc, end_utc) and affected rows, and the pattern lots (TEMP runs hot, inspections fail).
`write_sensor_export` writes one large sensor file in a client's format (benchmarks).
"""

from orchestration.sample_clients.generator import (
    DEFECT_KINDS,
    SAMPLE_START,
    PlantedDefect,
    SampleManifest,
    generate_sample,
    write_sensor_export,
)

__all__ = ["DEFECT_KINDS", "SAMPLE_START", "PlantedDefect", "SampleManifest", "generate_sample",
           "write_sensor_export"]
