"""Where lake tables live: a local folder (the demo, one machine) or an object store URI such as
`s3://bucket/bronze` (several machines), and the options delta-rs and DuckDB need to reach it.

The options come from the standard AWS variables, so a deployment configures the lake the way it
configures every other S3 client; a local root needs none.
"""

from __future__ import annotations

import os
from pathlib import Path

# delta-rs (object_store) spells its S3 options like the AWS variables; these are the ones a
# deployment sets (AWS_ALLOW_HTTP only for a test server on loopback).
S3_OPTION_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ALLOW_HTTP",
    "AWS_S3_LOCKING_PROVIDER",
    "AWS_S3_ALLOW_UNSAFE_RENAME",
)

Location = Path | str  # a local folder, or an object store URI


def is_remote(location: Location) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def as_location(value: Location) -> Location:
    """A URI stays a string; anything else is a local folder."""
    return str(value).rstrip("/") if is_remote(value) else Path(value)


def child(location: Location, name: str) -> Location:
    return f"{location}/{name}" if is_remote(location) else Path(location) / name


def storage_options(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The object store settings present in the environment, as delta-rs storage options."""
    environ = os.environ if environ is None else environ
    options = {name: environ[name] for name in S3_OPTION_VARIABLES if environ.get(name)}
    if "AWS_REGION" not in options and environ.get("AWS_DEFAULT_REGION"):
        options["AWS_REGION"] = environ["AWS_DEFAULT_REGION"]
    return options


def duckdb_s3_secret(options: dict[str, str], name: str = "lake_s3") -> str:
    """`CREATE SECRET` for DuckDB's httpfs from the same options, so `delta_scan('s3://…')` and a
    DuckLake `DATA_PATH 's3://…'` reach the same store as delta-rs does."""
    endpoint = options.get("AWS_ENDPOINT_URL", "")
    use_ssl = not endpoint.startswith("http://")
    host = endpoint.split("://", 1)[-1].rstrip("/")
    parts = ["TYPE S3"]
    if options.get("AWS_ACCESS_KEY_ID"):
        parts += [f"KEY_ID {_quote(options['AWS_ACCESS_KEY_ID'])}", f"SECRET {_quote(options.get('AWS_SECRET_ACCESS_KEY', ''))}"]
    if options.get("AWS_SESSION_TOKEN"):
        parts.append(f"SESSION_TOKEN {_quote(options['AWS_SESSION_TOKEN'])}")
    if options.get("AWS_REGION"):
        parts.append(f"REGION {_quote(options['AWS_REGION'])}")
    if host:
        # a custom endpoint (MinIO, moto, an on-premise store) addresses buckets by path
        parts += [f"ENDPOINT {_quote(host)}", "URL_STYLE 'path'"]
    parts.append(f"USE_SSL {'true' if use_ssl else 'false'}")
    return f"CREATE OR REPLACE SECRET {name} ({', '.join(parts)})"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
