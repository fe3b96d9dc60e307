"""The central database's password never appears in any output, whatever it holds: an unencoded ``%``, ``@``,
``:``, ``/``, ``#``, ``?``, a space, non-ASCII letters, or nothing. Checked on the URL helpers (hypothesis) and
through every output a real server and the CLI give: the 400 error, ``fiscald settings set``, ``/health``,
the server log, ``fiscald central status`` and ``fiscald central migrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polling import wait_for
from typer.testing import CliRunner

from fiscald.central import url
from fiscald.cli import cli
from server import Server, free_port

# Each password is marked at both ends, so an output that shows any part of it is caught.
HOSTILE = ["%", "%zz", "@", "a@b", ":", "a:b", "/", "#", "?", " ", "a b", "пароль", "%40", "@h/x?y#z", "", "x" * 2000]
LEFT, RIGHT = "Qx7L", "Zk9R"


def secret(middle: str) -> str:
    return f"{LEFT}{middle}{RIGHT}"


def central(password: str, port: int) -> str:
    return f"postgresql://fiscald:{password}@127.0.0.1:{port}/store_db"


def leaks(text: str) -> bool:
    return LEFT in text or RIGHT in text


@given(st.text(st.characters(codec="utf-8"), max_size=30))
def test_the_url_helpers_never_show_any_part_of_the_password(middle: str) -> None:
    for raw in (central(secret(middle), 5432), f"postgresql://fiscald@h/db?password={secret(middle)}&sslmode=require"):
        assert not leaks(url.mask(raw) or "")
        assert not leaks(url.problem(raw) or "")
        assert not leaks(url.describe(raw))
        assert not leaks(url.scrub(f"failed: {secret(middle)} and {unquote(secret(middle))}", raw))


def test_mask_keeps_everything_but_the_password() -> None:
    assert url.mask("postgresql://u:p%zz@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert url.mask("postgresql://u:a@b/c?d#e@h/db") == "postgresql://u:***@h/db"
    assert url.mask("postgresql://u@h/db?password=x&y&sslmode=require") == \
        "postgresql://u@h/db?password=***&sslmode=require"
    assert url.mask("postgresql://u@h/db") == "postgresql://u@h/db"
    assert url.describe("postgresql://u:a@b@h:6000/db") == "h:6000/db"
    # an encodable password is still refused with what to do, never with the password
    assert "%25 for %" in (url.problem(central("50%off", 5432)) or "")
    assert url.problem(central("50%25off", 5432)) is None and url.problem(central("пароль:x", 5432)) is None


def fiscald(*args: str, code: int | None = None, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", "FISCALD_API_TOKEN": "", **(env or {})})
    if code is not None:
        assert result.exit_code == code, result.output
    return result.output


def test_no_output_of_server_or_cli_shows_the_password(make_server: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    closed = free_port()  # nothing listens there: shipping fails, and says so in /health and the log
    srv: Server = make_server(tmp_path / "data")
    outputs: list[str] = []
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        for middle in HOSTILE:
            raw = central(secret(middle), closed)
            answer = client.post("/manage/save_settings", json={"central_url": raw, "store_id": "store-1"})
            outputs.append(answer.text)
            if url.problem(raw) is not None or len(raw) > 2000:  # 2000: the longest central_url taken
                assert answer.status_code == 400 and "central_url" in answer.json()["error"]
            else:
                assert answer.status_code == 200, answer.text
                wait_for(lambda: client.get("/health").json()["central"]["last_error"] is not None, 30,
                           "the shipping error")
                outputs.append(client.get("/health").text)
            outputs.append(client.get("/manage/get_settings").text)
            outputs.append(fiscald("settings", "set", "central_url", raw, "--url", srv.url))
            outputs.append(fiscald("settings", "show", "--url", srv.url))
            outputs.append(fiscald("central", "migrate", "--url", raw))
            outputs.append(fiscald("central", "verify", "--url", raw))
        outputs.append(client.get("/metrics").text)
    srv.stop()
    for middle in HOSTILE:  # the environment's URL, read by the status command and by a server at start-up
        raw = central(secret(middle), closed)
        monkeypatch.setenv(url.ENV_URL, raw)
        monkeypatch.setenv(url.ENV_STORE_ID, "store-1")
        outputs.append(fiscald("central", "status", "--data-dir", str(tmp_path / "data"), code=0))
        assert "central: " in outputs[-1]
    for middle in ("%zz", "a@b", "пароль"):
        monkeypatch.setenv(url.ENV_URL, central(secret(middle), closed))
        from_env: Server = make_server(tmp_path / f"env{len(outputs)}")
        with httpx.Client(base_url=from_env.url, timeout=30) as client:
            wait_for(lambda c=client: c.get("/health").json()["central"]["last_error"] is not None, 30,
                       "the shipping error")  # type: ignore[misc]
            outputs.append(client.get("/health").text)
        from_env.stop()
        outputs.append(from_env.log())
    outputs.append(srv.log())
    assert len(outputs) > 100
    shown = [text for text in outputs if leaks(text)]
    assert not shown, shown[0]
    assert "***" in "".join(outputs) and "percent-encode" in "".join(outputs)
