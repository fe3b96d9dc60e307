"""The emulator's command line and control endpoint: models and protocols, the control endpoint's body checks
and protections (DNS rebinding, foreign pages, slow and oversized requests), and a raw Datecs client over TCP
seeing the protocol's refusals. The manuals' replies themselves are in the corpus (test_datecs_corpus.py)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest
from datecs_env import Emulator
from typer.testing import CliRunner

from fiscald.cli import cli
from fiscald.drivers.isl import framing
from fiscald.emulators import control
from fiscald.emulators.datecs import MODELS, DatecsEmulator

NOT_PERMITTED = (1, 1)
FISCAL_OPEN = (2, 3)
INVALID = (0, 1)


def _bit(frame: framing.Frame, bit: tuple[int, int]) -> bool:
    return bool((frame.status or b"\0" * 8)[bit[0]] & (1 << bit[1]))


def test_a_model_of_the_other_protocol_is_refused() -> None:
    result = CliRunner().invoke(cli, ["emulate", "datecs", "--protocol", "x", "--model", "DP-25"])
    assert result.exit_code == 2 and "DP-25" in result.output
    unknown = CliRunner().invoke(cli, ["emulate", "datecs", "--model", "DP-99"])
    assert unknown.exit_code == 2 and "DP-25MX" in unknown.output  # the known models are listed


def test_every_model_has_a_dialect_its_protocol_follows() -> None:
    assert MODELS["DP-25MX"].dialect.name == "romanian-x" and MODELS["DP-25MX"].dialect.framing is framing.X
    assert MODELS["DP-25X"].dialect.name == "bulgarian-x"
    assert MODELS["DP-25"].dialect.name == "old-c" and MODELS["DP-25"].dialect.framing is framing.OLD
    assert MODELS["FP-2000"].dialect.name == "old-p"
    assert MODELS["WP-500X"].columns == 42


def _exchange(conn: socket.socket, variant: framing.Variant, seq: int, cmd: int, data: bytes) -> framing.Frame:
    conn.sendall(framing.request(variant, seq, cmd, data))
    decoder = framing.Decoder(variant, replies=True)
    while True:
        for event in decoder.feed(conn.recv(4096)):
            if isinstance(event, framing.Frame):
                return event


def test_control_endpoint_and_protocol_refusals(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu", "old").start()  # DP-25: the old C dialect
    try:
        bad = httpx.post(emu.control + "/simulate", json={"wire": {"drop_replies": -1}})
        assert bad.status_code == 400 and "wire.drop_replies:" in bad.json()["error"]
        assert httpx.post(emu.control + "/simulate", json={"fault": "melted"}).status_code == 400
        assert httpx.post(emu.control + "/other", json={}).status_code == 404
        bad = httpx.post(emu.control + "/simulate", json={"fault_at": {"command": 0x38, "fault": "melted"}})
        assert bad.status_code == 400 and "fault_at.fault:" in bad.json()["error"]
        assert emu.simulate(fault_at={"command": 0x38, "fault": "paper_out"})["fault_at"] == {
            "command": 0x38, "fault": "paper_out", "nth": 1}
        state = emu.simulate(wire={"busy_ms": 0}, fault_at=None)
        assert set(state) == {"simulation", "wire", "stats", "device", "fault_at"} and state["fault_at"] is None
        assert state["device"]["dialect"] == "old-c"
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
            sale = _exchange(conn, framing.OLD, 0x21, 0x31, "Paine\tА1.00".encode("cp1251"))  # no receipt open
            assert _bit(sale, NOT_PERMITTED)
            unknown = _exchange(conn, framing.OLD, 0x22, 0x99, b"")
            assert unknown.data == b"" and _bit(unknown, INVALID)
            opened = _exchange(conn, framing.OLD, 0x23, 0x30, b"1,1,1")  # [C] p.23: operator 1's password is 1
            assert opened.data == b"1,1" and _bit(opened, FISCAL_OPEN)
            again = _exchange(conn, framing.OLD, 0x23, 0x30, b"1,1,1")  # same SEQ: not executed again
            assert again == opened and emu.simulate()["device"]["frames"] == 3
            close = _exchange(conn, framing.OLD, 0x24, 0x38, b"")  # nothing paid
            assert _bit(close, NOT_PERMITTED)
            cancelled = _exchange(conn, framing.OLD, 0x25, 0x3C, b"")
            assert not _bit(cancelled, FISCAL_OPEN)
    finally:
        emu.stop()


# -- the control endpoint's protections (issue 20), in process on a real socket ------------------------
async def _raw(port: int, request: bytes, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10) if read else b""
    writer.close()
    return answer


def _post(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"POST /simulate HTTP/1.1\r\n{head}content-length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize(("headers", "allowed"), [
    (("Host: 127.0.0.1:9",), True),
    (("Host: localhost",), True),
    (("Host: [::1]:80",), True),
    ((), True),  # HTTP/1.0 programs send no Host
    (("Host: evil.example",), False),  # DNS rebinding: a foreign name pointed at 127.0.0.1
    (("Host: 127.0.0.1", "Origin: http://evil.example"), False),  # a foreign page
    (("Host: 127.0.0.1", "Origin: null"), False),
    (("Host: 127.0.0.1", "Origin: http://localhost:3000"), True),
])
def test_the_control_port_refuses_foreign_hosts_and_pages(tmp_path: Path, headers: tuple[str, ...],
                                                           allowed: bool) -> None:
    async def run() -> None:
        emulator = DatecsEmulator(MODELS["DP-25MX"], tmp_path)
        await emulator.start()
        server = await control.serve_control(emulator.control, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            answer = await _raw(port, _post(json.dumps({"fault": "disconnected"}).encode(), *headers))
            status = int(answer.split(b" ", 2)[1])
            fault = emulator.register.simulation.fault
            if allowed:
                assert status == 200 and fault == "disconnected"
            else:
                assert status == 403 and b'"status": 1015' in answer and fault == "none"
        finally:
            server.close()
            emulator.close()

    asyncio.run(run())


def test_the_control_port_bounds_what_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "READ_TIMEOUT_S", 0.3)

    async def run() -> None:
        emulator = DatecsEmulator(MODELS["FP-700X"], tmp_path)
        await emulator.start()
        server = await control.serve_control(emulator.control, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            # a body over the cap is refused by its Content-Length, before any of it is sent
            head = f"POST /simulate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: {control.MAX_BODY + 1}\r\n\r\n"
            big = await _raw(port, head.encode())
            assert big.startswith(b"HTTP/1.1 400") and b"larger than" in big
            chunked = await _raw(port, b"POST /simulate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"transfer-encoding: chunked\r\n\r\n")
            assert chunked.startswith(b"HTTP/1.1 400")
            huge_head = await _raw(port, b"POST /simulate HTTP/1.1\r\nX: " + b"a" * (control.MAX_HEAD + 10))
            assert huge_head.startswith(b"HTTP/1.1 400") or huge_head == b""
            # a client that sends half a request and waits is dropped after the read timeout
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /simulate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 10\r\n\r\n{")
            await writer.drain()
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            assert loop.time() - started < 3
            writer.close()
        finally:
            server.close()
            emulator.close()

    asyncio.run(run())


def test_no_posix_only_module_at_module_level() -> None:
    """Windows: the emulators and `fiscald emulate` import everywhere; the pty link loads tty only where it
    exists (inside a sys.platform check)."""
    import ast

    import fiscald

    root = Path(fiscald.__file__).parent
    posix_only = {"tty", "termios", "pty", "fcntl", "grp", "pwd", "resource"}
    files = [*sorted((root / "emulators").rglob("*.py")), root / "commands" / "emulate.py"]
    wrong = []
    for path in files:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{path.name}: {n}" for n in names if n.split(".")[0] in posix_only]
    assert len(files) >= 6 and wrong == []


def test_a_romanian_model_over_tcp(tmp_path: Path) -> None:
    """`fiscald emulate datecs --model DP-25MX`: X framing, the Romanian dialect, state kept across a restart."""
    emu = Emulator(tmp_path / "emu", "x", model="DP-25MX").start()
    try:
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
            info = _exchange(conn, framing.X, 0x21, 0x5A, b"1\t").data.split(b"\t")
            assert info[0] == b"0" and info[1] == b"DP-25MX" and len(info) == 9  # no FM number [DUDE]
            opened = _exchange(conn, framing.X, 0x22, 0x30, b"1\t0000\t1\t\tRO18547290\t")
            assert opened.data == b"0\t1\t" and _bit(opened, FISCAL_OPEN)
            assert _exchange(conn, framing.X, 0x23, 0x31, b"Paine\t1\t3.00\t\t\t\t0\t").data == b"0\t1\t"
    finally:
        emu.stop()
    again = Emulator(tmp_path / "emu", "x", model="DP-25MX").start()  # a power cycle: the receipt is still open
    try:
        with socket.create_connection(("127.0.0.1", again.port), timeout=5) as conn:
            state = _exchange(conn, framing.X, 0x24, 0x4C, b"")
            assert state.data.startswith(b"0\t1\t1\t") and state.data.endswith(b"\t1\t3.00\t0.00\t")
            assert again.simulate()["device"]["receipt_open"] is True
    finally:
        again.stop()
