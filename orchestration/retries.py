"""Transient failures retry with backoff; everything else fails at once.

A Delta commit that lost a race, a DuckDB/DuckLake transaction conflict or a file another
process holds locked go away by themselves; a bad mapping or a failing dbt test do not, and
retrying them only hides the message for minutes. Dagster's RetryPolicy cannot tell the two
apart, so assets raise `RetryRequested` themselves for the first kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from deltalake.exceptions import CommitFailedError

MAX_RETRIES = 3
BASE_DELAY_SECONDS = 5.0
TRANSIENT_MESSAGES = ("transaction conflict", "could not set lock", "database is locked", "resource temporarily unavailable")


def is_transient(error: BaseException) -> bool:
    if isinstance(error, CommitFailedError):
        return True
    if isinstance(error, (duckdb.TransactionException, duckdb.IOException, BlockingIOError, TimeoutError)):
        return isinstance(error, (BlockingIOError, TimeoutError)) or any(
            m in str(error).lower() for m in TRANSIENT_MESSAGES)
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and is_transient(cause)


@contextmanager
def retry_when_transient(context: dg.AssetExecutionContext, *, max_retries: int = MAX_RETRIES,
                         base_delay: float = BASE_DELAY_SECONDS) -> Iterator[None]:
    """Run the block; on a transient error ask Dagster to run the step again after an exponential
    backoff (base_delay × 2^attempt), at most `max_retries` times."""
    try:
        yield
    except Exception as error:
        if not is_transient(error):
            raise
        attempt = context.retry_number
        if attempt >= max_retries:
            raise
        wait = base_delay * 2 ** attempt
        context.log.warning(f"transient failure ({type(error).__name__}: {error}); retry {attempt + 1} of "
                            f"{max_retries} in {wait:.0f} s")
        raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=wait) from error
