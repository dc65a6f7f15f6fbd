"""Data quality inspection (데이터 품질검사): per company, dataset and KST day scores and named issues."""

from orchestration.quality.config import CHECKS, DIMENSIONS, QualityConfig, load_quality_config
from orchestration.quality.inspection import InspectionResult, company_scores, inspect_company

__all__ = ["CHECKS", "DIMENSIONS", "InspectionResult", "QualityConfig", "company_scores", "inspect_company",
           "load_quality_config"]
