"""Per-client quality thresholds from `clients/quality.yaml` (defaults + per company overrides)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")
CHECKS = (*DIMENSIONS, "overall")

# Used when clients/quality.yaml is missing or leaves a key out.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "weights": {"completeness": 0.30, "validity": 0.25, "uniqueness": 0.15, "consistency": 0.15,
                "timeliness": 0.15},
    "checks": {
        "completeness": {"warn_below": 98, "error_below": 90},
        "validity": {"warn_below": 99, "error_below": 95},
        "uniqueness": {"warn_below": 99.5, "error_below": 97},
        "consistency": {"warn_below": 99, "error_below": 95},
        "timeliness": {"warn_below": 95, "error_below": 80},
        "overall": {"warn_below": 97, "error_below": 90},
    },
    "sampling": {"expected_interval_seconds": {}},
    "detectors": {
        "gap_factor": 2.5, "stuck_min_readings": 6, "stuck_min_minutes": 30, "stuck_ignore_values": [0],
        "spike_z": 8.0, "spike_max_readings": 24, "late_file_hours": 6, "freshness_hours": None,
        "backfill_until": None,
        "ranges": {},
    },
    "severity": {
        "gap": "warn", "missing_values": "warn", "stuck": "warn", "spike": "warn", "out_of_range": "error",
        "duplicate": "warn", "late_file": "warn", "rejected_rows": "error", "unit_mismatch": "error",
        "orphan_inspection": "warn", "stale_data": "warn",
    },
}


def _deep_merge(base: dict, override: dict | None) -> dict:
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class QualityConfig:
    """The settings that apply to one company."""

    company_id: str
    settings: dict[str, Any]
    # the client mapping's own plausible ranges (SI units): "TAG" or "EQUIPMENT:TAG" -> (min, max)
    mapping_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def weights(self) -> dict[str, float]:
        weights = {d: float(self.settings["weights"].get(d, 0)) for d in DIMENSIONS}
        total = sum(weights.values())
        if total <= 0:
            raise ValueError(f"quality weights for {self.company_id} sum to {total}; they must be positive")
        return {d: w / total for d, w in weights.items()}

    def detector(self, name: str):
        return self.settings["detectors"][name]

    def threshold(self, check: str) -> dict[str, float]:
        return {k: float(v) for k, v in self.settings["checks"][check].items()}

    def check_outcome(self, check: str, score: float | None) -> tuple[bool, str]:
        """(passed, severity 'warn' | 'error') of a dimension check for a score."""
        limits = self.threshold(check)
        if score is None or score >= limits["warn_below"]:
            return True, "warn"
        return False, "error" if score < limits["error_below"] else "warn"

    def severity(self, issue_type: str) -> str:
        return str(self.settings["severity"].get(issue_type, "warn"))

    @property
    def expected_intervals(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in (self.settings["sampling"].get("expected_interval_seconds") or {}).items()}

    @property
    def tag_ranges(self) -> dict[str, tuple[float, float]]:
        return {str(k): (float(v[0]), float(v[1])) for k, v in (self.detector("ranges") or {}).items()}

    def range_overrides(self) -> list[tuple[str | None, str, float, float]]:
        """(equipment or None, tag, min, max), most specific first: an equipment's range from the
        client mapping, then the client's range of the tag from the mapping, then from quality.yaml
        (`detectors.ranges`); a tag with none of them keeps the tag dictionary's range."""
        by_equipment = [(k.rsplit(":", 1)[0], k.rsplit(":", 1)[1], lo, hi)
                        for k, (lo, hi) in self.mapping_ranges.items() if ":" in k]
        by_tag = {**self.tag_ranges, **{k: v for k, v in self.mapping_ranges.items() if ":" not in k}}
        return by_equipment + [(None, tag, lo, hi) for tag, (lo, hi) in by_tag.items()]


def load_quality_config(company_id: str, path: Path | None = None, mapping_file: Path | None = None) -> QualityConfig:
    """The settings of one company: built-in defaults <- file `defaults` <- file `companies.<id>`,
    with the plausible ranges its mapping names (`plausible_ranges`; a mapping that does not load
    adds none: its ingest reports why)."""
    document: dict[str, Any] = {}
    if path is not None and Path(path).exists():
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    settings = _deep_merge(BUILTIN_DEFAULTS, document.get("defaults"))
    settings = _deep_merge(settings, (document.get("companies") or {}).get(company_id))
    return QualityConfig(company_id=company_id, settings=settings, mapping_ranges=_mapping_ranges(mapping_file))


def _mapping_ranges(mapping_file: Path | None) -> dict[str, tuple[float, float]]:
    from orchestration.ingest.mapping import MappingError, load_mapping

    if mapping_file is None or not Path(mapping_file).exists():
        return {}
    try:
        return dict(load_mapping(Path(mapping_file)).plausible_ranges)
    except MappingError:
        return {}
