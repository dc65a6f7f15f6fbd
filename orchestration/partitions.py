"""The units of work."""

import dagster as dg

# One partition per client company; the landing sensor adds companies as they are onboarded.
company_partitions = dg.DynamicPartitionsDefinition(name="company")
