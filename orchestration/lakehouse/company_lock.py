"""One ingest per company at a time, across processes: an OS file lock per company.

The exactly-once ledger is read, the new rows written and the ledger appended under
`company_lock`, so two ingests of the same company (two Dagster runs, a run and a script) can
never both decide that a file is new. The lock is `fcntl.flock` on `lake/locks/<company_id>.lock`:
the kernel releases it when the holder dies (SIGKILL included), so a crashed run never leaves a
stale lock behind.

Scale-out (several machines, object storage): a file lock does not reach across machines. There
the same guarantee comes from two layers, see docs/scale-out.md: the Dagster run queue admits one
run per `company` tag (`run_queue.tag_concurrency_limits` with `applyLimitPerUniqueValue`, written
by orchestration/instance.py), and the ledger append is a conditional Delta commit (a writer that
read ledger version N commits only if the ledger is still at N, else re-reads and re-checks).
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path


class CompanyBusy(TimeoutError):
    pass


def lock_path(lock_dir: Path, company_id: str) -> Path:
    return Path(lock_dir) / f"{company_id}.lock"


@contextmanager
def company_lock(lock_dir: Path, company_id: str, *, timeout_seconds: float = 3600.0, poll_seconds: float = 0.1):
    """Hold the company's ingest lock; waits (up to `timeout_seconds`) for another holder to finish."""
    path = lock_path(lock_dir, company_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CompanyBusy(f"{company_id}: another ingest of this company has held {path} for more "
                                      f"than {timeout_seconds:g}s") from None
                time.sleep(poll_seconds)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for an operator looking at the file
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
