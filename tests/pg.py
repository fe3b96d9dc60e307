"""A throwaway PostgreSQL server for the central-shipping tests and bench: Debian's binaries, ``initdb`` in a
temporary folder, a free port on 127.0.0.1, the unix socket in the same folder. PostgreSQL refuses to run as
root, so as root it runs as the ``postgres`` user (created by the Debian package)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from server import free_port

USER = "fiscald_admin"
PASSWORD = "pg-test-Secret-42"


def binaries() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<version>/bin`` with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PgCluster:
    def __init__(self, bin_dir: Path, cpus: str | None = None) -> None:
        """``cpus``: run the server on these CPUs only (``taskset -c``), e.g. to keep it off a benchmark's."""
        self.bin = bin_dir
        self.cpus = cpus
        self.root = Path(tempfile.mkdtemp(prefix="fiscald-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.run_as: str | None = None
        self.up = False
        if sys.platform != "win32" and os.geteuid() == 0:
            import pwd

            self.run_as = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.run_as:
            os.chown(pwfile, pw.pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", USER, "-E", "UTF8", "--no-sync", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.cpus is not None:
            command = ["taskset", "-c", self.cpus, *command]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=50 -c shared_buffers=32MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        self.up = True

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: like a crash (open transactions are lost, committed ones survive)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.up = False

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
