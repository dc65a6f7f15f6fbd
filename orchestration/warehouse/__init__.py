"""The DuckDB warehouse: atomic publishing, bronze hand-over from Delta, the dbt project."""
