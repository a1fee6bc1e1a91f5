"""Times one Asp kernel in this process: the suite runs one backend/driver per process so
that no OpenMP runtime's or pool's spinning threads slow another's measurement.

usage: asp_child.py KERNEL N REPEAT   -> JSON on stdout: first-call time, median, spread,
variant, and the output's checksum for the suite's correctness check.
"""
import hashlib
import json
import statistics
import sys
import time

from asp import _core
from stencils import grids_for


def main(kernel, n, repeat):
    k, grids, _ = grids_for(kernel, int(n))
    start = time.perf_counter()
    k.kernel(*grids)
    first = time.perf_counter() - start
    if k.last_call.backend is None:
        raise SystemExit(f"fell back to Python: {k.last_call.fallback_reason}")
    # Reading data brings a device backend's results back to the host.
    digest = hashlib.sha256(grids[-1].data.tobytes()).hexdigest()
    # Warm-up covers the tuner's exploration: it runs each variant once before it settles on the fastest.
    specialized = next(iter(k._specialized.values()))
    for _ in range(_core.tuner_runs_per_variant * len(specialized.variants)):
        k.kernel(*grids)
    times = []
    for _ in range(int(repeat)):
        start = time.perf_counter()
        k.kernel(*grids)
        times.append(time.perf_counter() - start)
    print(json.dumps({"first_call": first, "median": statistics.median(times), "min": min(times), "max": max(times),
                      "runs": int(repeat), "backend": k.last_call.backend, "variant": k.last_call.variant,
                      "sha256": digest}))


if __name__ == "__main__":
    main(*sys.argv[1:])
