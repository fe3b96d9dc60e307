"""The floor for the receipt path: the least a service on fiscald's stack must do for one print_receipt.

    .venv/bin/python bench/floor.py --port P --data-dir DIR [--commits group|alone]

A minimal app on the same stack as fiscald (Starlette, uvicorn with uvloop and httptools, pydantic, SQLite in
WAL mode with ``synchronous=FULL``) that, for ``POST /devices/operation``:

1. reads the body and validates it with fiscald's own operation models (the same request, the same rules);
2. takes a per-device lock (one operation at a time per device, as fiscald's queue does);
3. makes two fsync'ed commits (fiscald's "started" and "finished" records). ``--commits group`` (the default):
   through fiscald's own store writer (fiscald.store.db.Database: one writer thread, group commit of whatever is
   queued, one event-loop wake-up per committed batch), so that under concurrency both servers share fsyncs the
   same way and the throughput ratio measures the work, not two commit strategies. ``--commits alone``: each
   commit in a transaction of its own on a one-thread executor, the floor issue 23's table was first measured
   against (its throughput is bound by fsync latency, not by its work);
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fiscald.operations import parse_operation
from fiscald.store.db import Database

CREATE = ("CREATE TABLE IF NOT EXISTS ops (id TEXT PRIMARY KEY, device_id TEXT, state TEXT, request BLOB, "
          "response BLOB, at REAL)")


class Floor:
    def __init__(self, data_dir: Path, commits: str = "group") -> None:
        self.locks: dict[str, asyncio.Lock] = {}
        self.db: Database | None = None
        self.alone: ThreadPoolExecutor | None = None
        if commits == "group":
            self.db = Database(data_dir / "floor.db")
            self.db.write_sync(lambda c: c.execute(CREATE))
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.alone = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floor-writer")
            self.conn = self.alone.submit(self._open, data_dir / "floor.db").result()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(CREATE)
        return conn

    def _commit(self, sql: str, args: tuple[object, ...]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(sql, args)
        self.conn.execute("COMMIT")

    async def write(self, sql: str, *args: object) -> None:
        if self.alone is not None:
            await asyncio.get_running_loop().run_in_executor(self.alone, self._commit, sql, args)
            return

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(sql, args)

        assert self.db is not None
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
    parser.add_argument("--commits", choices=["group", "alone"], default="group")
    args = parser.parse_args()
    floor = Floor(args.data_dir, args.commits)
    app = Starlette(routes=[Route("/", root), Route("/devices/operation", floor.operation, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False, server_header=False)


if __name__ == "__main__":
    main()
