from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from inproc import InProcessServer
from polling import wait_for

from server import Server

# No test may fall back to the user's or the service's data dir (and so reach the server running there): a command
# given no --data-dir uses this session's own data dir, which does not exist; the user data dir is a temp dir too.
# Child processes (servers, CLI subprocesses) inherit both.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="fiscald-tests-"))
os.environ["FISCALD_DATA_DIR"] = str(_SESSION_DIR / "default-data-dir")
os.environ["XDG_DATA_HOME"] = os.environ["LOCALAPPDATA"] = str(_SESSION_DIR / "user-data")
# The CLI's rich consoles are made at import and keep a COLUMNS/LINES found then for good, so a test's own COLUMNS
# (CliRunner env) would not apply: pytest-xdist's workers start with COLUMNS=80. Tests state the width they need.
for _inherited in ("COLUMNS", "LINES"):
    os.environ.pop(_inherited, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server (demo mode) shared by the tests that only need a register."""
    srv = Server(tmp_path_factory.mktemp("shared-server")).start()
    # the server answers before its register has started (a task of its own): the tests read its status
    wait_for(lambda: all(d["status"] != "Connecting"
                         for d in httpx.get(srv.url + "/devices/fiscal").json()["fiscal_devices"]),
             20, "the demo register's start")
    yield srv
    srv.stop()


@pytest.fixture()
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers of a test's own (fresh data dir unless given); all are stopped afterwards. With
    ``ready=False`` the server is only launched: call its ``wait_ready()`` (two servers then start side by side)."""
    started: list[Server] = []

    def make(data_dir: Path | None = None, ready: bool = True, **kwargs: Any) -> Server:
        srv = Server(data_dir or tmp_path / f"srv{len(started)}", **kwargs)
        started.append(srv)
        return srv.start() if ready else srv.launch()

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture()
def make_app(tmp_path: Path) -> Iterator[Callable[..., InProcessServer]]:
    """Start in-process servers of a test's own (fresh data dir unless given); all are stopped afterwards."""
    started: list[InProcessServer] = []

    def make(data_dir: Path | None = None, **kwargs: Any) -> InProcessServer:
        srv = InProcessServer(data_dir or tmp_path / f"app{len(started)}", **kwargs)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture()
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def device_id(server: Server) -> str:
    return server.fiscal_ids()[0]


@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    """A real PostgreSQL server for the whole session (tests/pg.py); skipped loudly where none is installed."""
    from pg import PgCluster, binaries

    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL NOT INSTALLED: central shipping tests skipped (apt-get install postgresql)")
    if os.geteuid() == 0 and not (shutil.which("runuser") and _has_user("postgres")):
        pytest.skip("PostgreSQL cannot run as root and there is no postgres user: central shipping tests skipped")
    cluster = PgCluster(bin_dir)
    yield cluster
    cluster.close()


def _has_user(name: str) -> bool:
    if sys.platform == "win32":
        return False
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
