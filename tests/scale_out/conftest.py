"""Session-wide PostgreSQL and S3 (moto) servers on loopback for the `scale_out` tests. Each is
started the first time a test asks for it and stopped at the end of the session, or by its
watchdog if the test process dies first (see lake_servers.py)."""

from __future__ import annotations

import pytest
from lake_servers import PostgresServer, S3Server, start_postgres, start_s3


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    server = start_s3()
    yield server
    server.stop()
