"""Times one Asp kernel in this process: the suite runs one backend/driver per process so
that no OpenMP runtime's or pool's spinning threads slow another's measurement.

usage: asp_child.py KERNEL N REPEAT   -> JSON on stdout: first-call time, median, spread,
variant, and the output's checksum for the suite's correctness check. With ASP_BENCH_YARDSTICKS
naming the hand-written C library, a Laplacian's hand-written C is also timed on this process's
own grids ("hand_c_same_arrays"): the speed of a memory-bound sweep on this machine depends on
where its arrays lie (the same C differs by up to 20 % between identically allocated arrays), so
only a comparison on the same arrays isolates the code.
"""
import ctypes
import os
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
    # Warm-up covers the tuner's exploration: it tries each variant before it settles on the fastest.
    specialized = next(iter(k._specialized.values()))
    for _ in range(_core.tuner_runs_per_variant * len(specialized.variants)):
        k.kernel(*grids)
    times = []
    for _ in range(int(repeat)):
        start = time.perf_counter()
        k.kernel(*grids)
        times.append(time.perf_counter() - start)
    result = {"first_call": first, "median": statistics.median(times), "min": min(times), "max": max(times),
              "runs": int(repeat), "backend": k.last_call.backend, "variant": k.last_call.variant, "sha256": digest}
    if os.environ.get("ASP_BENCH_YARDSTICKS") and kernel != "bilateral3d":
        result["hand_c_same_arrays"] = hand_c_median(kernel, grids, int(repeat))
    print(json.dumps(result))


def hand_c_median(kernel, grids, repeat):
    """The hand-written C sweep on the same input and output arrays, median seconds."""
    lib = ctypes.CDLL(os.environ["ASP_BENCH_YARDSTICKS"])
    double_p = ctypes.POINTER(ctypes.c_double)
    a, out = (g.data.ctypes.data_as(double_p) for g in grids)
    shape = grids[0].shape
    function = lib.laplacian3d if kernel == "laplacian3d" else lib.laplacian2d
    function.argtypes = [double_p, double_p] + [ctypes.c_int64] * len(shape)
    function(a, out, *shape)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(a, out, *shape)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main(*sys.argv[1:])
