"""Programme KPIs reported to the ministry."""
