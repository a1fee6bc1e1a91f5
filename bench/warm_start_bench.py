"""Warm start (DESIGN.md §9, issue 10's table): the first call of a 16^3 Laplacian in a new process
whose disk cache an earlier process filled and whose tuning record has settled, inside the process.

Times, in alternating new processes on one cache (openmp backend, ORC driver): "reuse", the
warm start as it is, and "front half", the same after removing the cache's specialization
entries, so that the frontend, the stencil optimizers and the lowering run again as they did
before the specialization cache (each such run stores the entry anew). Interleaving the two keeps
their ratio meaningful on a loaded machine; the times themselves move with the load.

Usage (after scripts/setup):

    .venv/bin/python bench/warm_start_bench.py [--runs 9] [--n 16]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def first_call_ms(n: int, env: dict) -> float:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "asp_child.py"), "laplacian3d", str(n), "3"],
                            env=env, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout)["first_call"] * 1e3


def remove_specializations(cache: pathlib.Path) -> None:
    """Removes the entries whose trailer (core/include/asp/core/code_cache.hpp) names kind 'specialization'."""
    for path in cache.glob("*.bin"):
        data = path.read_bytes()
        if len(data) >= 44 and data[-32:-16].rstrip(b"\0") == b"specialization":
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="processes of each kind (default 9)")
    parser.add_argument("--n", type=int, default=16, help="grid edge (default 16)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asp-warm-bench-") as work:
        config = pathlib.Path(work) / "jit.yaml"
        config.write_text("backends:\n  openmp:\n    jit: orc\n")
        cache = pathlib.Path(work) / "cache"
        env = dict(os.environ, ASP_BACKEND="openmp", ASP_CONFIG=str(config), ASP_CACHE_DIR=str(cache))
        env.pop("ASP_DUMP", None)
        for _ in range(2):
            first_call_ms(options.n, env)  # compile, then tune until the record has settled
        reuse, front = [], []
        for _ in range(options.runs):
            reuse.append(first_call_ms(options.n, env))
            remove_specializations(cache)
            front.append(first_call_ms(options.n, env))
    for label, times in (("reuse (warm start)", reuse), ("front half run again", front)):
        print(f"{label:22s} median {statistics.median(times):7.2f} ms  min {min(times):7.2f}  "
              f"max {max(times):7.2f}  ({options.runs} processes)")
    print(f"ratio of medians (front half / reuse): {statistics.median(front) / statistics.median(reuse):.2f}")
    if hasattr(os, "getloadavg"):
        print("load average: %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
