"""The floor for the receipt path: the least a service on fiscald's stack must do for one print_receipt.

    .venv/bin/python bench/floor.py --port P --data-dir DIR

A minimal app on the same stack as fiscald (Starlette, uvicorn with uvloop and httptools, pydantic, SQLite in
WAL mode with ``synchronous=FULL``) that, for ``POST /devices/operation``:

1. reads the body and validates it with fiscald's own operation models (the same request, the same rules);
2. takes a per-device lock (one operation at a time per device, as fiscald's queue does);
3. makes two fsync'ed commits (fiscald's "started" and "finished" records) through fiscald's own store writer
   (fiscald.store.db.Database: one writer thread, group commit of whatever is queued, one event-loop wake-up per
   committed batch), so that under concurrency both servers share fsyncs the same way and the throughput ratio
   measures the work, not two commit strategies;
4. answers a small JSON result.

No journal, printout, idempotency, totals or events. bench/receipt_ratio.py runs it beside fiscald and prints
fiscald's latency and throughput as ratios of this floor.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
import uuid
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fiscald.operations import parse_operation
from fiscald.store.db import Database


class Floor:
    def __init__(self, data_dir: Path) -> None:
        self.db = Database(data_dir / "floor.db")
        self.db.write_sync(lambda c: c.execute("CREATE TABLE IF NOT EXISTS ops (id TEXT PRIMARY KEY, device_id TEXT, "
                                               "state TEXT, request BLOB, response BLOB, at REAL)"))
        self.locks: dict[str, asyncio.Lock] = {}

    async def write(self, sql: str, *args: object) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(sql, args)

        await self.db.write(run)

    async def operation(self, request: Request) -> Response:
        body = await request.body()
        op = parse_operation(orjson.loads(body))
        lock = self.locks.setdefault(op.device_id, asyncio.Lock())
        op_id = uuid.uuid4().hex
        async with lock:
            await self.write("INSERT INTO ops VALUES (?, ?, 'running', ?, NULL, ?)", op_id, op.device_id, body,
                             time.time())
            answer = orjson.dumps({"status": 200, "result": {"operation_id": op_id}})
            await self.write("UPDATE ops SET state = 'done', response = ? WHERE id = ?", answer, op_id)
        return Response(answer, media_type="application/json")


async def root(_: Request) -> Response:
    return PlainTextResponse("floor")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    floor = Floor(args.data_dir)
    app = Starlette(routes=[Route("/", root), Route("/devices/operation", floor.operation, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False, server_header=False)


if __name__ == "__main__":
    main()
