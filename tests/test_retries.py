"""A transient failure (a Delta commit that lost a race) retries with backoff within the run; a
real failure (bad input) fails at once, without retries."""


import dagster as dg
from deltalake.exceptions import CommitFailedError

from orchestration.retries import is_transient, retry_when_transient

attempts: list[int] = []


@dg.asset
def flaky_commit(context: dg.AssetExecutionContext):
    attempts.append(context.retry_number)
    with retry_when_transient(context, base_delay=0.05):
        if context.retry_number < 2:
            raise CommitFailedError("Failed to commit transaction: version 7 already exists")
    return 1


@dg.asset
def bad_mapping(context: dg.AssetExecutionContext):
    attempts.append(context.retry_number)
    with retry_when_transient(context, base_delay=0.05):
        raise ValueError("CJ-COS-01 mapping: column 온도(℃) is not in sensors_20261103.csv")


def test_transient_failure_retries_until_it_succeeds():
    attempts.clear()
    result = dg.materialize([flaky_commit])
    assert result.success
    assert attempts == [0, 1, 2]


def test_a_real_failure_is_not_retried():
    attempts.clear()
    result = dg.materialize([bad_mapping], raise_on_error=False)
    assert not result.success
    assert attempts == [0]


def test_transient_errors_are_recognised_through_their_cause():
    import duckdb

    assert is_transient(duckdb.TransactionException("TransactionContext Error: Transaction conflict: cannot update"))
    assert not is_transient(duckdb.TransactionException("Cannot commit: not in a transaction"))
    wrapped = RuntimeError("warehouse write failed")
    wrapped.__cause__ = CommitFailedError("version exists")
    assert is_transient(wrapped)
    assert not is_transient(RuntimeError("dbt test not_null failed"))
