"""INP file interface benchmarks on zero-latency Simulated registers. Prints numbers (see docs/inp.md, last section).

    .venv/bin/python bench/inp_bench.py [--latency-files 200] [--files 2000] [--devices 4]

Measures, on a real server with the default 100 ms settle delay:
- latency: one command file at a time — from the moment the writer closed it to the moment its answer file
  is present in BonANSWER/ (includes the settle delay, the claim, the receipt and the result writes);
- throughput: ``--files`` receipt files spread over ``--devices`` registers, each with its own scan folder, all
  written as fast as one writer can; files/s = files / (last answer present - first file closed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server import Server, add_simulated_register

HEADER = ",1,______,_,__;"


def command_file(n: int) -> str:
    lines = [f"S{HEADER}Articol {n} {i};{1 + i}.{n % 100:02d};1.000;1;1;{1 + i % 2};0;0;buc" for i in range(5)]
    return "\n".join([*lines, f"T{HEADER}0;1000.00;;;;"]) + "\n"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_for(path: Path, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while not path.exists():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no answer {path}")
        time.sleep(0.0005)
    return time.perf_counter()


def latency(root: Path, files: int) -> list[float]:
    folder = root / "lat"
    folder.mkdir()
    add_simulated_register(root / "lat-data", "L", scan_folder=str(folder))
    srv = Server(root / "lat-data", demo=False).start()
    try:
        (folder / "warm.inp").write_text(command_file(0), encoding="utf-8")
        wait_for(folder / "BonANSWER" / "warm.inp")
        out = []
        for n in range(files):
            path = folder / f"f{n}.inp"
            path.write_text(command_file(n), encoding="utf-8")
            closed = time.perf_counter()
            out.append(wait_for(folder / "BonANSWER" / path.name) - closed)
        return out
    finally:
        srv.stop()


def throughput(root: Path, files: int, devices: int) -> tuple[float, int]:
    data = root / "tp-data"
    folders = [root / f"tp{d}" for d in range(devices)]
    for d, folder in enumerate(folders):
        folder.mkdir()
        add_simulated_register(data, f"T{d}", scan_folder=str(folder))
    srv = Server(data, demo=False).start()
    try:
        time.sleep(0.5)  # the watches are established
        first = time.perf_counter()
        for n in range(files):
            (folders[n % devices] / f"f{n}.inp").write_text(command_file(n), encoding="utf-8")
        deadline = time.monotonic() + 120
        while True:
            done = sum(len(os.listdir(f / "BonANSWER")) if (f / "BonANSWER").exists() else 0 for f in folders)
            if done >= files or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - first
        ok = sum(len(os.listdir(f / "BonOK")) for f in folders if (f / "BonOK").exists())
        return files / elapsed, ok
    finally:
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-files", type=int, default=200)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inp-bench-") as tmp:
        root = Path(tmp)
        lat = latency(root, args.latency_files)
        print(f"latency file closed -> answer present ({len(lat)} files, settle 100 ms): "
              f"p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms, "
              f"mean {statistics.mean(lat) * 1000:.1f} ms")
        rate, ok = throughput(root, args.files, args.devices)
        print(f"throughput: {args.files} files over {args.devices} registers: {rate:.0f} files/s ({ok} in BonOK)")


if __name__ == "__main__":
    main()
