"""HTTP error shapes agree with the status line, HEAD works wherever GET does, and a local service refuses
what a web page elsewhere could make a browser send (DNS rebinding, foreign Origin)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from inproc import asgi_client, configure

from fiscald.config import Settings, is_loopback
from fiscald.interfaces.local_only import host_allowed
from server import add_simulated_register


def test_error_bodies_carry_the_status_of_the_line(tmp_path: Path) -> None:
    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            r = await c.get("/nope")
            assert r.status_code == 404 and r.json()["status"] == 404 and "/nope" in r.json()["error"]
            r = await c.put("/health")
            assert r.status_code == 405 and r.json()["status"] == 405
            assert r.headers["allow"] == "GET, HEAD"
            r = await c.get("/devices/operation")
            assert r.status_code == 405 and r.json()["status"] == 405 and r.headers["allow"] == "POST"
            r = await c.delete("/manage/save_settings")
            assert r.status_code == 405 and r.json()["status"] == 405 and r.headers["allow"] == "POST"

    asyncio.run(go())


def test_head_works_wherever_get_does(tmp_path: Path) -> None:
    dev = add_simulated_register(tmp_path)

    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            for path in ("/", "/health", "/devices/fiscal", "/devices/pos", "/metrics", "/manage/get_settings",
                         "/manage/get_version", f"/devices/{dev}/journal", "/openapi.json", "/docs"):
                get, head = await c.get(path), await c.head(path)
                assert get.status_code == 200 and head.status_code == 200, path
                assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], path
            r = await c.head("/nope")
            assert r.status_code == 404 and r.content == b""
            r = await c.head("/devices/operation")
            assert r.status_code == 405 and r.headers["allow"] == "POST"

    asyncio.run(go())


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1:10123", True), ("localhost:10123", True), ("LOCALHOST", True), ("[::1]:10123", True),
    ("127.9.9.9", True), ("till.local:10123", True), ("till.local.", True), ("192.168.1.5:10123", True),
    ("evil.example:10123", False), ("127.0.0.1.nip.io:10123", False), ("localhost.evil.example", False),
    ("192.168.1.6:10123", False), ("user@127.0.0.1", False), ("127.0.0.1:x", False), ("", False),
])
def test_host_rule(host: str, allowed: bool) -> None:
    settings = Settings(allowed_hosts=["till.local"])
    assert host_allowed(host, "192.168.1.5", settings) is allowed


def test_dns_rebinding_and_foreign_pages_are_refused(tmp_path: Path) -> None:
    dev = add_simulated_register(tmp_path)
    body = {"device_id": dev, "operation": "get_status"}

    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            # a rebinding page: its name now points at 127.0.0.1, so the browser sends Host: evil.example
            r = await c.post("/devices/operation", json=body, headers={"Host": "evil.example:10123"})
            assert r.status_code == 403 and r.json()["status"] == 1015 and "Host" in r.json()["error"]
            r = await c.get("/", headers={"Host": "evil.example"})
            assert r.status_code == 403
            # a foreign page POSTing through the browser to 127.0.0.1
            r = await c.post("/devices/operation", json=body, headers={"Origin": "https://evil.example"})
            assert r.status_code == 403 and r.json()["status"] == 1015 and "Origin" in r.json()["error"]
            for origin in ("null", "http://user@evil.example@127.0.0.1", "http://127.0.0.1.nip.io"):
                r = await c.post("/manage/save_settings", json={"language": "en"}, headers={"Origin": origin})
                assert r.status_code == 403, origin
            assert (await c.get("/manage/get_settings")).json()["language"] == "ro"
            # the service's own pages (the /ui dashboard), local pages and programs without Origin pass
            for origin in ("http://127.0.0.1:10123", "http://localhost:5173", None):
                headers = {"Origin": origin} if origin else {}
                r = await c.post("/devices/operation", json=body, headers=headers)
                assert r.status_code == 200, origin
            # settings make a name and a page trusted
            saved = await c.post("/manage/save_settings", json={
                "allowed_hosts": ["till.local"], "allowed_origins": ["https://pos.example.com"]})
            assert saved.status_code == 200, saved.json()
            r = await c.post("/devices/operation", json=body, headers={"Host": "till.local:10123",
                                                                       "Origin": "http://till.local:10123"})
            assert r.status_code == 200
            r = await c.post("/devices/operation", json=body, headers={"Origin": "https://pos.example.com"})
            assert r.status_code == 200

    asyncio.run(go())


def test_settings_validate_hosts_and_origins(tmp_path: Path) -> None:
    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            for changes in ({"allowed_hosts": ["http://till.local"]}, {"allowed_hosts": ["till.local:80"]},
                            {"allowed_origins": ["pos.example.com"]}, {"allowed_origins": ["https://a.b/path"]},
                            {"allowed_origins": ["http://user@a.b"]}, {"allowed_hosts": "till.local"}):
                r = await c.post("/manage/save_settings", json=changes)
                assert r.status_code == 400 and r.json()["status"] == 400, changes
                assert next(iter(changes)) in r.json()["error"]

    asyncio.run(go())


def test_a_refusal_comes_before_the_token_question(tmp_path: Path) -> None:
    configure(tmp_path, api_token="a-long-enough-token-123")

    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            r = await c.get("/health", headers={"Origin": "https://evil.example"})
            assert r.status_code == 403 and "Origin" in r.json()["error"]
            r = await c.get("/health")
            assert r.status_code == 401

    asyncio.run(go())


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True), ("::ffff:127.0.0.1", True),
    ("0.0.0.0", False), ("10.0.0.5", False), ("127.0.0.1.invalid", False), ("127.evil.invalid", False),
])
def test_loopback_is_decided_on_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
