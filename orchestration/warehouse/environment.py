"""Pointing a dbt invocation at a particular warehouse file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a block (dagster-dbt passes os.environ to
    the dbt subprocess; the profile reads WAREHOUSE_CATALOG, WAREHOUSE_DATA_PATH and BRONZE_ROOT from it)."""
    with _lock:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
