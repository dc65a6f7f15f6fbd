"""The test servers themselves: reachable on loopback only, and gone when their starter dies."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from lake_servers import LOOPBACK

pytestmark = pytest.mark.scale_out
HERE = Path(__file__).resolve().parent


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def test_postgres_answers_on_loopback_only(postgres_server):
    import psycopg2

    database = postgres_server.create_database("servers_check")
    con = psycopg2.connect(host=LOOPBACK, port=postgres_server.port, user=postgres_server.user, dbname=database)
    with con, con.cursor() as cursor:
        cursor.execute("show server_version_num")
        version = int(cursor.fetchone()[0])
        cursor.execute("show listen_addresses")
        listen = cursor.fetchone()[0]
    con.close()
    assert version >= 150000
    assert listen == LOOPBACK


def test_s3_server_keeps_objects(s3_server):
    client = s3_server.client()
    bucket = s3_server.create_bucket("servers-check")
    client.put_object(Bucket=bucket, Key="landing/회사/파일.csv", Body="a,b\n1,2\n".encode())
    assert client.get_object(Bucket=bucket, Key="landing/회사/파일.csv")["Body"].read() == b"a,b\n1,2\n"
    assert s3_server.endpoint.startswith(f"http://{LOOPBACK}:")


def test_servers_stop_when_their_starter_is_killed(tmp_path):
    """A process that started both servers dies by SIGKILL: both ports close and the folders go."""
    starter = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import json, sys, time
            sys.path.insert(0, {str(HERE)!r})
            from lake_servers import start_postgres, start_s3
            pg, s3 = start_postgres(), start_s3()
            print(json.dumps({{"pg": pg.port, "s3": s3.port, "folders": [str(pg.folder), str(s3.folder)]}}), flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(starter.stdout.readline())
        assert listening(started["pg"]) and listening(started["s3"])
    finally:
        starter.kill()
        starter.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (listening(started["pg"]) or listening(started["s3"])
                                           or any(Path(f).exists() for f in started["folders"])):
        time.sleep(0.2)
    assert not listening(started["pg"]), "PostgreSQL outlived the process that started it"
    assert not listening(started["s3"]), "the S3 server outlived the process that started it"
    assert not any(Path(f).exists() for f in started["folders"])
