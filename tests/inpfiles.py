"""Helpers for the INP file tests: write command files, wait until the server resolved them, read the results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from fiscald.app import open_database
from fiscald.store import devices as device_repo

HDR = ",1,______,_,__;"


def inp(*lines: str) -> str:
    """Lines written as ``S;Coffee;2.50`` get the standard header after their letter."""
    return "\n".join(line[0] + HDR + line[2:] if line[1:2] == ";" else line for line in lines) + "\n"


def set_settings(data_dir: Path, **values: Any) -> None:
    db = open_database(data_dir)
    try:
        def save(conn: Any) -> None:
            settings = device_repo.load_settings(conn)
            for key, value in values.items():
                setattr(settings, key, value)
            device_repo.save_settings(conn, settings)

        db.write_sync(save)
    finally:
        db.close()


def resolved(folder: Path, name: str) -> bool:
    return ((folder / "BonANSWER" / name).exists() and not (folder / name).exists()
            and not (folder / f"{name}.processing").exists())


def wait_resolved(folder: Path, *names: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(resolved(folder, n) for n in names):
        if time.monotonic() > deadline:
            left = [n for n in names if not resolved(folder, n)]
            present = sorted(p.name for p in folder.iterdir())
            raise AssertionError(f"not resolved within {timeout}s: {left}; in the folder: {present}")
        time.sleep(0.01)


def answer(folder: Path, name: str) -> dict[str, str]:
    text = (folder / "BonANSWER" / name).read_text(encoding="utf-8")
    assert text.endswith("\n")
    pairs = [line.split("=", 1) for line in text.splitlines()]
    out = {k: v for k, v in pairs}
    assert len(out) == len(pairs), f"a key repeats in {text!r}"
    return out


def drop(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run(folder: Path, name: str, text: str | bytes) -> dict[str, str]:
    """Drop one command file, wait until it is resolved, return its answer."""
    drop(folder, name, text)
    wait_resolved(folder, name)
    return answer(folder, name)


def journal(url: str, device_id: str) -> list[dict[str, Any]]:
    body = {"device_id": device_id, "operation": "read_journal", "params": {"limit": 10_000}}
    r = httpx.post(url + "/devices/operation", json=body, timeout=30)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["result"]["entries"]
    return entries


def receipts(url: str, device_id: str) -> list[dict[str, Any]]:
    return [e for e in journal(url, device_id) if e["kind"] == "receipt"]


def inp_state(url: str, device_id: str, client: httpx.Client | None = None) -> dict[str, Any]:
    devices = (client.get(url + "/devices/fiscal") if client is not None
               else httpx.get(url + "/devices/fiscal", timeout=10)).json()["fiscal_devices"]
    [device] = [d for d in devices if d["config"]["id"] == device_id]
    state: dict[str, Any] = device["inp"]
    return state


def wait_state(url: str, device_id: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10) as client:  # one client: an httpx.get() each poll costs ~30 ms of CPU
        while True:
            current = inp_state(url, device_id, client)
            if current["state"] == state:
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"INP state stayed {current}, expected {state}")
            time.sleep(0.02)
