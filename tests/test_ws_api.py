"""The WebSocket API against a real server process: actions, errors, idempotency shared with HTTP,
asynchronous operations and correlation of concurrent requests on one connection."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from wsclient import ws_client

from fiscald import __version__
from server import Server


def item(description: str = "Cafea", qty: int = 1000, price: int = 1000, vat: str = "A") -> dict[str, Any]:
    return {"type": "item", "description": description, "quantity_thousandths": qty, "unit_price_cents": price,
            "vat": vat}


def receipt(device_id: str, price: int = 1000, **extra: Any) -> dict[str, Any]:
    return {"device_id": device_id, "operation": "print_receipt", "params": {"lines": [item(price=price)]}, **extra}


def test_hello_ping_devices_list(server: Server, device_id: str) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            hello = await c.send("hello", {"client": "pytest/1"}, req_id="h-1")
            assert await hello == {"id": "h-1", "action": "hello.result", "status": 200,
                                   "payload": {"server": "fiscald", "version": __version__, "protocol": 1}}
            ping = await c.request("ping")
            assert ping["action"] == "ping.result" and ping["status"] == 200 and ping["payload"] == {}
            fiscal = await c.request("devices.list", {"kind": "fiscal"})
            assert fiscal["payload"] == httpx.get(server.url + "/devices/fiscal").json()
            assert device_id in [d["config"]["id"] for d in fiscal["payload"]["fiscal_devices"]]
            pos = await c.request("devices.list", {"kind": "pos"})
            assert pos["payload"] == {"pos_terminals": []}
            both = await c.request("devices.list", {"kind": None})
            assert both["payload"] == {**fiscal["payload"], **pos["payload"]}

    asyncio.run(go())


def test_envelope_errors_keep_the_connection(server: Server) -> None:
    def check(reply: dict[str, Any], req_id: str | None, action: str, field: str) -> None:
        assert reply["id"] == req_id and reply["action"] == action, reply
        assert reply["status"] == 400 and reply["retryable"] is False
        assert reply["error"].startswith("Cerere sau configurare invalidă: ") and f"{field}" in reply["error"], reply

    async def actions() -> None:
        async with ws_client(server.url) as c:
            check(await c.raw("{bad json"), None, "error", "message: malformed JSON")
            check(await c.raw("[1, 2]"), None, "error", "message: expected a JSON object")
            check(await c.raw(json.dumps({"action": "ping"})), None, "error", "id: required")
            check(await c.raw(json.dumps({"id": "x" * 65, "action": "ping"})), None, "error", "id: required")
            check(await c.raw(json.dumps({"id": "a", "action": "ping", "extra": 1})), "a", "error",
                  "extra: unknown field")
            check(await c.raw(json.dumps({"id": "a"})), "a", "error", "action: required")
            check(await c.raw(b"\x00\x01"), None, "error", "binary frames")
            r = await c.send("no.such.action", req_id="u1")
            check(await r, "u1", "no.such.action.error", "action: unknown action 'no.such.action' (actions: ")
            r = await c.send("operation.sumbit", req_id="u2")
            check(await r, "u2", "operation.sumbit.error", "(did you mean operation.submit? actions: ")
            r = await c.send("ping", [1], req_id="p1")
            check(await r, "p1", "ping.error", "payload: expected a JSON object")
            r = await c.send("ping", {"x": 1}, req_id="p2")
            check(await r, "p2", "ping.error", "payload.x")
            r = await c.send("devices.list", {"kind": "cash"}, req_id="d1")
            check(await r, "d1", "devices.list.error", "payload.kind")
            r = await c.send("subscribe", {"events": ["receipts"]}, req_id="s1")
            check(await r, "s1", "subscribe.error", "payload.events.0")
            r = await c.send("subscribe", {"events": []}, req_id="s2")
            check(await r, "s2", "subscribe.error", "payload.events")
            r = await c.send("subscribe", {"events": ["journal"], "device_ids": ["not-a-uuid"]}, req_id="s3")
            check(await r, "s3", "subscribe.error", "payload.device_ids.0")
            r = await c.send("operation.get", {}, req_id="g1")
            check(await r, "g1", "operation.get.error", "payload.operation_id")
            r = await c.send("operation.get", {"operation_id": "nope"}, req_id="g2")
            check(await r, "g2", "operation.get.error", "operation_id: no operation 'nope'")
            assert (await c.request("ping"))["action"] == "ping.result"  # still open

    asyncio.run(actions())


def test_too_many_malformed_messages_close_1008(server: Server) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            for _ in range(100):  # 100 in a row are tolerated, and a good message resets the count
                await c.ws.send("nope")
            assert (await c.request("ping"))["status"] == 200
            for _ in range(101):
                await c.ws.send("nope")
            assert await c.closed() == 1008
            errors = [m for m in c.received if m["action"] == "error"]
            assert 200 <= len(errors) <= 201 and all("malformed JSON" in e["error"] for e in errors)

    asyncio.run(go())


def test_message_over_1_mib_closes_1009(server: Server) -> None:
    async def go() -> None:
        async with ws_client(server.url, max_size=None) as c:
            near = json.dumps({"id": "big", "action": "hello", "payload": {"client": "x" * 1_000_000}})
            reply = await c.raw(near)  # under 1 MiB: an ordinary error reply naming the field
            assert reply["id"] == "big" and reply["status"] == 400 and "payload.client" in reply["error"]
            await c.ws.send(json.dumps({"id": "huge", "action": "hello", "payload": {"client": "x" * (1 << 20)}}))
            assert await c.closed() == 1009

    asyncio.run(go())


def test_execute_results_and_errors(server: Server, device_id: str) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            ok = await c.request("operation.execute", receipt(device_id, 1250))
            assert ok["action"] == "operation.execute.result" and ok["status"] == 200 and "replayed" not in ok
            assert ok["payload"]["status"] == 200
            res = ok["payload"]["result"]
            assert res["total_cents"] == 1250 and res["paid_cents"] == 1250 and res["voided"] is False

            missing = str(uuid.uuid4())
            r = await c.request("operation.execute", {"device_id": missing, "operation": "get_status"})
            assert r["action"] == "operation.execute.error" and r["status"] == 404 and missing in r["error"]
            r = await c.request("operation.execute", {"device_id": device_id, "operation": "print_receipt",
                                                      "params": {"lines": [item(vat="7%")]}})
            assert r["status"] == 2008 and r["action"] == "operation.execute.error"
            r = await c.request("operation.execute", {"device_id": device_id, "operation": "print_receipt",
                                                      "params": {}})
            assert r["status"] == 400 and "params.lines" in r["error"]
            r = await c.request("operation.execute", {"device_id": device_id, "operation": "get_status", "x": 1})
            assert r["status"] == 400 and "x: unknown field" in r["error"]
            r = await c.request("operation.execute", {"device_id": device_id, "operation": "get_status",
                                                      "idempotency_key": 7})
            assert r["status"] == 400 and "idempotency_key" in r["error"]
            r = await c.request("operation.execute", {"device_id": device_id, "operation": "cash_out",
                                                      "params": {"amount_cents": 10**8}})
            assert r["status"] == 2012 and r["retryable"] is False and r["error"]

    asyncio.run(go())


def test_idempotency_shared_with_http(make_server: Any) -> None:
    srv: Server = make_server()
    dev = srv.fiscal_ids()[0]

    async def go() -> None:
        async with ws_client(srv.url) as c:
            first = await c.request("operation.execute", receipt(dev, 700, idempotency_key="order-1"))
            again = await c.request("operation.execute", receipt(dev, 700, idempotency_key="order-1"))
            assert again["replayed"] is True and again["payload"] == first["payload"]
            http = httpx.post(srv.url + "/devices/operation", json=receipt(dev, 700),
                              headers={"Idempotency-Key": "order-1"})
            assert http.headers.get("idempotent-replayed") == "true" and http.json() == first["payload"]

            by_http = httpx.post(srv.url + "/devices/operation", json=receipt(dev, 800),
                                 headers={"Idempotency-Key": "order-2"})
            assert by_http.status_code == 200 and "idempotent-replayed" not in by_http.headers
            by_ws = await c.request("operation.execute", receipt(dev, 800, idempotency_key="order-2"))
            assert by_ws["replayed"] is True and by_ws["payload"] == by_http.json()

            sub = await c.request("operation.submit", receipt(dev, 800, idempotency_key="order-2"))
            op_id = sub["payload"]["operation_id"]
            done = await c.event("operation_completed")
            assert done["payload"]["operation_id"] == op_id and done["payload"]["replayed"] is True
            assert done["payload"]["result"] == by_http.json()["result"]
            got = await c.request("operation.get", {"operation_id": op_id})
            assert got["payload"]["state"] == "done" and got["payload"]["result"] == by_http.json()["result"]

            conflict = await c.request("operation.execute", receipt(dev, 999, idempotency_key="order-1"))
            assert conflict["action"] == "operation.execute.error" and conflict["status"] == 1008

            status = await c.request("operation.execute", {"device_id": dev, "operation": "get_status"})
            assert status["payload"]["result"]["last_receipt_number"] == 2  # one receipt per key

            # paper out left nothing on the register: the key is not consumed, the retry prints, once
            httpx.post(srv.url + "/manage/simulate", json={"device_id": dev, "fault": "paper_out"})
            out = await c.request("operation.execute", receipt(dev, 900, idempotency_key="order-3"))
            assert out["status"] == 2001 and "replayed" not in out
            httpx.post(srv.url + "/manage/simulate", json={"device_id": dev, "fault": "none"})
            printed = await c.request("operation.execute", receipt(dev, 900, idempotency_key="order-3"))
            assert printed["status"] == 200 and "replayed" not in printed
            assert printed["payload"]["result"]["receipt_number"] == 3
            replay = await c.request("operation.execute", receipt(dev, 900, idempotency_key="order-3"))
            assert replay["replayed"] is True and replay["payload"] == printed["payload"]

            # an answer lost after printing stays bound: replayed, never printed again
            httpx.post(srv.url + "/manage/simulate", json={
                "device_id": dev, "fail_next": {"operation": "print_receipt", "code": 2003, "at": "after_print"}})
            lost = await c.request("operation.execute", receipt(dev, 950, idempotency_key="order-4"))
            assert lost["status"] == 2003
            again_lost = await c.request("operation.execute", receipt(dev, 950, idempotency_key="order-4"))
            assert again_lost["replayed"] is True
            assert {k: v for k, v in again_lost.items() if k not in ("id", "replayed")} == {
                k: v for k, v in lost.items() if k != "id"}
            status = await c.request("operation.execute", {"device_id": dev, "operation": "get_status"})
            assert status["payload"]["result"]["last_receipt_number"] == 4

    asyncio.run(go())


def test_submit_events_and_get_states(make_server: Any) -> None:
    srv: Server = make_server()
    dev = srv.fiscal_ids()[0]

    async def go() -> None:
        async with ws_client(srv.url) as c:
            futures = [await c.send("operation.submit", receipt(dev, 100 + i)) for i in range(30)]
            late = await c.send("operation.submit", {"device_id": dev, "operation": "x_report", "timeout_ms": 1})
            replies = [await f for f in futures]
            assert all(r["action"] == "operation.submit.result" for r in replies)
            ids = [r["payload"]["operation_id"] for r in replies]
            assert len(set(ids)) == 30
            last = await c.request("operation.get", {"operation_id": ids[-1]})
            assert last["payload"] == {"operation_id": ids[-1], "device_id": dev, "operation": "print_receipt",
                                       "state": "queued"}
            late_id = (await late)["payload"]["operation_id"]

            seen: dict[str, list[str]] = {}
            results: dict[str, dict[str, Any]] = {}
            late_error: dict[str, Any] = {}
            while len(results) < 30 or not late_error:
                ev = await c.event()
                p = ev["payload"]
                seen.setdefault(p["operation_id"], []).append(ev["action"])
                if ev["action"] == "event.operation_completed":
                    if p["operation_id"] == late_id:
                        late_error = p["error"]
                    else:
                        results[p["operation_id"]] = p["result"]
            assert all(seen[i] == ["event.operation_started", "event.operation_completed"] for i in ids)
            assert seen[late_id] == ["event.operation_completed"]  # never started: dropped at its deadline
            assert late_error["status"] == 1013
            numbers = [results[i]["receipt_number"] for i in ids]
            assert numbers == sorted(numbers) and len(set(numbers)) == 30  # the device's order is arrival order
            assert [results[i]["total_cents"] for i in ids] == [100 + i for i in range(30)]
            seqs = [m["seq"] for m in c.received if "seq" in m]
            assert seqs == list(range(1, len(seqs) + 1))

            for i in (ids[0], ids[-1]):
                got = await c.request("operation.get", {"operation_id": i})
                assert got["payload"]["state"] == "done" and got["payload"]["result"] == results[i]
            got = await c.request("operation.get", {"operation_id": late_id})
            assert got["payload"]["state"] == "done" and got["payload"]["error"]["status"] == 1013

            bad = await c.request("operation.submit", {"device_id": str(uuid.uuid4()), "operation": "get_status"})
            assert bad["action"] == "operation.submit.error" and bad["status"] == 404
            assert (await c.request("ping"))["status"] == 200
            assert c.events.empty()  # a refused submit sends no events

    asyncio.run(go())


def test_a_receipt_is_done_as_soon_as_it_completed(make_server: Any) -> None:
    """The record of a printed receipt's answer shares the next commit (its result is in the journal already):
    asked right after operation_completed, before that commit, the operation is done with its result."""
    srv: Server = make_server()
    dev = srv.fiscal_ids()[0]

    async def go() -> None:
        async with ws_client(srv.url) as c:
            for i in range(3):
                op_id = (await c.request("operation.submit", receipt(dev, 300 + i)))["payload"]["operation_id"]
                while (done := await c.event())["action"] != "event.operation_completed":
                    pass
                assert done["payload"]["operation_id"] == op_id
                got = await c.request("operation.get", {"operation_id": op_id})
                assert got["payload"]["state"] == "done" and got["payload"]["result"] == done["payload"]["result"]

    asyncio.run(go())


def test_interleaved_requests_correlate(make_server: Any) -> None:
    srv: Server = make_server()
    dev = srv.fiscal_ids()[0]

    async def go() -> None:
        async with ws_client(srv.url) as c:
            sent: dict[str, int | None] = {}
            for i in range(40):
                sent[f"rcpt-{i}"] = 200 + i
                await c.send("operation.execute", receipt(dev, 200 + i), req_id=f"rcpt-{i}")
                sent[f"ping-{i}"] = None
                await c.send("ping", req_id=f"ping-{i}")
            while len([m for m in c.received if m.get("id") in sent]) < len(sent):
                await asyncio.sleep(0.02)
            replies = [m for m in c.received if m.get("id") in sent]
            assert sorted(m["id"] for m in replies) == sorted(sent)  # each request answered exactly once
            for m in replies:
                price = sent[m["id"]]
                if price is None:
                    assert m["action"] == "ping.result"
                else:
                    assert m["action"] == "operation.execute.result"
                    assert m["payload"]["result"]["total_cents"] == price
            order = [m["id"] for m in replies]
            # a receipt in progress does not hold up pings behind it on the same connection
            assert order.index("ping-39") < order.index("rcpt-39")

    asyncio.run(go())


def test_restart_keeps_submitted_results(make_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "d"
    srv: Server = make_server(data)
    dev = srv.fiscal_ids()[0]

    async def before() -> tuple[str, dict[str, Any]]:
        async with ws_client(srv.url) as c:
            op_id = (await c.request("operation.submit", receipt(dev, 4321, idempotency_key="pos-77")))[
                "payload"]["operation_id"]
            result = (await c.event("operation_completed"))["payload"]["result"]
            srv.stop()
            assert await c.closed() == 1012  # service restart: reconnect
            return op_id, result

    op_id, result = asyncio.run(before())
    srv2: Server = make_server(data)

    async def after() -> None:
        async with ws_client(srv2.url) as c:
            got = await c.request("operation.get", {"operation_id": op_id})
            assert got["payload"] == {"operation_id": op_id, "device_id": dev, "operation": "print_receipt",
                                      "state": "done", "result": result}
            retry = await c.request("operation.execute", receipt(dev, 4321, idempotency_key="pos-77"))
            assert retry["replayed"] is True and retry["payload"]["result"] == result

    asyncio.run(after())


def test_submit_with_a_key_stored_for_another_request_is_refused_without_events(server: Server) -> None:
    dev = server.fiscal_ids()[0]
    key = "ws-conflict-" + uuid.uuid4().hex
    first = httpx.post(server.url + "/devices/operation", json=receipt(dev, 1000), headers={"Idempotency-Key": key})
    assert first.status_code == 200

    async def go() -> None:
        async with ws_client(server.url) as c:
            reply = await c.request("operation.submit", {**receipt(dev, 2000), "idempotency_key": key})
            assert reply["action"] == "operation.submit.error" and reply["status"] == 1008
            pong = await c.request("ping")
            assert pong["action"] == "ping.result"
            assert c.events.empty() and c.unmatched.empty()

    asyncio.run(go())


def test_deep_nesting_and_lone_surrogates_get_error_replies(server: Server) -> None:
    async def go() -> None:
        async with ws_client(server.url) as c:
            deep = await c.raw('{"id":"a","action":"ping","payload":' + "[" * 200_000 + "]" * 200_000 + "}")
            assert deep["action"] == "error" and deep["status"] == 400 and "malformed JSON" in deep["error"]
            lone = await c.raw('{"id":"\\ud800","action":"ping"}')
            assert lone["action"] == "error" and lone["status"] == 400 and "malformed JSON" in lone["error"]
            assert (await c.request("ping"))["action"] == "ping.result"  # the connection is still there

    asyncio.run(go())
