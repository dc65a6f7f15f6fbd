"""The servers a scale-out deployment talks to, started on loopback for tests: PostgreSQL 15 (the
DuckLake catalog and the Dagster instance) and an S3-compatible object store (moto's server mode;
bronze Delta tables and DuckLake data files).

Each server gets a free port on 127.0.0.1 and a private temporary folder. A small watchdog
process stops it and deletes its folder as soon as the process that started it is gone, so a test
run killed with SIGKILL leaves nothing listening.

    python tests/scale_out/lake_servers.py postgres   # start one by hand; Ctrl-C stops it
    python tests/scale_out/lake_servers.py s3
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
# Where Debian's server packages put their binaries (not on PATH); 15 first, as in production.
PG_BINDIRS = ["/usr/lib/postgresql/15/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
S3_REGION = "ap-northeast-2"  # Seoul, where the center's cloud account would be
S3_KEY_ID, S3_SECRET = "testing", "testing"  # moto accepts any keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening on port {port}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on {LOOPBACK}:{port} within {timeout:.0f}s")


def watch(parent_pid: int, server_pid: int, stop_command: list[str], cleanup: str | None) -> None:
    """Wait until the parent or the server is gone; then stop the server and remove its folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C aimed at pytest is the parent's to handle
    while _alive(parent_pid) and _alive(server_pid):
        time.sleep(0.5)
    if _alive(server_pid):
        if stop_command:
            subprocess.run(stop_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _alive(server_pid):
                break
            os.kill(server_pid, sig)
            for _ in range(50):
                if not _alive(server_pid):
                    break
                time.sleep(0.1)
    if cleanup:
        shutil.rmtree(cleanup, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_watchdog(server_pid: int, *, stop_command: list[str] = (), cleanup: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, __file__, "watch", str(os.getpid()), str(server_pid),
               "--cleanup", str(cleanup or ""), "--", *stop_command]
    # its own session: a signal sent to the test run's process group does not reach it
    return subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)


@dataclass
class PostgresServer:
    port: int
    folder: Path
    bindir: Path
    user: str = "postgres"
    watchdog: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return LOOPBACK

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        """A SQLAlchemy/libpq URL (trust authentication on loopback: no password)."""
        return f"{driver}://{self.user}@{LOOPBACK}:{self.port}/{database}"

    def libpq(self, database: str = "postgres") -> str:
        """A libpq key-value connection string, as DuckDB's postgres and ducklake extensions take it."""
        return f"host={LOOPBACK} port={self.port} user={self.user} dbname={database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        con = psycopg2.connect(host=LOOPBACK, port=self.port, user=self.user, dbname="postgres")
        con.autocommit = True
        try:
            with con.cursor() as cursor:
                cursor.execute(f'create database "{name}"')
        finally:
            con.close()
        return name

    @property
    def _pgdata(self) -> Path:
        return self.folder / "data"

    def _as_server_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if os.geteuid() == 0 else command

    def stop_command(self) -> list[str]:
        return self._as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self._pgdata), "-m", "immediate", "stop"])

    def stop(self) -> None:
        subprocess.run(self.stop_command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if self.watchdog is not None:
            self.watchdog.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_bindir() -> Path:
    for candidate in PG_BINDIRS:
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql/<version>/bin; "
                            "install them with `apt-get install postgresql` (make test does)")


def start_postgres(*, timeout: float = 60) -> PostgresServer:
    """initdb + pg_ctl start in a fresh temporary folder, as user postgres when we are root
    (PostgreSQL refuses to run as root), listening on 127.0.0.1 only."""
    bindir = postgres_bindir()
    folder = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    server = PostgresServer(port=free_port(), folder=folder, bindir=bindir,
                            user="postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    log = folder / "server.log"
    subprocess.run(server._as_server_user([str(bindir / "initdb"), "-D", str(server._pgdata), "-U", server.user,
                                           "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    # Test settings: no fsync (a crash loses the test, not data anyone keeps); the socket lives in
    # our folder, not in /var/run/postgresql, which a fresh machine may not have.
    options = (f"-c listen_addresses={LOOPBACK} -p {server.port} -k {folder} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(server._as_server_user([str(bindir / "pg_ctl"), "-D", str(server._pgdata), "-l", str(log),
                                           "-o", options, "-w", "-t", str(int(timeout)), "start"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout + 10)
    postmaster = int((server._pgdata / "postmaster.pid").read_text().split()[0])
    server.watchdog = start_watchdog(postmaster, stop_command=server.stop_command(), cleanup=folder)
    wait_for_port(server.port, timeout=timeout, what="PostgreSQL")
    return server


@dataclass
class S3Server:
    port: int
    folder: Path
    process: subprocess.Popen = field(repr=False)
    watchdog: subprocess.Popen | None = field(default=None, repr=False)
    region: str = S3_REGION

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment a lakehouse process needs to use this server (what production sets too,
        with real keys and endpoint, and without AWS_ALLOW_HTTP)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": S3_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_ALLOW_HTTP": "true",
        }

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET)

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.watchdog is not None:
            self.watchdog.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_s3(*, timeout: float = 60) -> S3Server:
    """moto's S3 server (in memory) as a separate process on a free loopback port."""
    folder = Path(tempfile.mkdtemp(prefix="lakehouse-s3-"))
    port = free_port()
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    log.close()
    server = S3Server(port=port, folder=folder, process=process)
    server.watchdog = start_watchdog(process.pid, cleanup=folder)
    try:
        wait_for_port(port, timeout=timeout, process=process, what="moto S3 server")
    except Exception:
        server.stop()
        raise
    return server


def main(argv: list[str]) -> int:
    if argv[:1] == ["watch"]:
        parent, server, _, cleanup, _, *stop = argv[1:]
        watch(int(parent), int(server), stop, cleanup or None)
        return 0
    which = argv[0] if argv else ""
    if which not in ("postgres", "s3"):
        print(__doc__)
        return 2
    server = start_postgres() if which == "postgres" else start_s3()
    print(server.url() if which == "postgres" else server.endpoint, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
