"""Asp's benchmark suite (DESIGN.md §9): Asp against the memory-bandwidth
ceiling, hand-written C, NumPy and Numba, as ratios measured in one run.

Run: scripts/bench [--quick] [--out DIR]

Every figure is the median of several repetitions after a warm-up, with the
spread (min..max). Every implementation's result is checked against a
reference before it is timed. Results go to DIR/results.json and PNG plots.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from stencils import BILATERAL_RADIUS, Laplacian2D, bilateral_grids  # noqa: E402

import asp  # noqa: E402
from asp.stencil import StencilGrid  # noqa: E402

YARDSTICKS = ROOT / "build" / "bench" / "libasp_bench_yardsticks.so"
DOUBLE_P = ctypes.POINTER(ctypes.c_double)


def pointer(array: np.ndarray):
    return array.ctypes.data_as(DOUBLE_P)


def measure(function, repeat: int) -> dict:
    """Median and spread of `repeat` timed runs after one warm-up, in seconds."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": repeat}


def machine_description() -> str:
    """The platform section of `asp info` (the hwloc probe)."""
    info = subprocess.run([str(ROOT / ".venv" / "bin" / "asp"), "info"], capture_output=True, text=True).stdout
    lines = info.split("\nPlugins")[0].splitlines()
    return "\n".join(line for line in lines if line.strip())


def last_level_cache_bytes() -> int:
    from asp import _core
    return int(_core.last_level_cache()) if hasattr(_core, "last_level_cache") else 32 * 2 ** 20


# ---- the ceiling ------------------------------------------------------------------------


def stream(lib, llc: int, repeat: int) -> dict:
    n = max(4 * llc // 8, 2 ** 22)  # each array much larger than the last-level cache
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    lib.stream_copy.argtypes = [DOUBLE_P, DOUBLE_P, ctypes.c_int64]
    lib.stream_triad.argtypes = [DOUBLE_P, DOUBLE_P, DOUBLE_P, ctypes.c_double, ctypes.c_int64]
    copy = measure(lambda: lib.stream_copy(pointer(a), pointer(b), n), repeat)
    triad = measure(lambda: lib.stream_triad(pointer(a), pointer(b), pointer(c), 3.0, n), repeat)
    assert a[0] == 7.0
    return {
        "array_bytes": 8 * n,
        "copy_GBs": 16 * n / copy["median"] / 1e9, "copy": copy,
        "triad_GBs": 24 * n / triad["median"] / 1e9, "triad": triad,
    }


# ---- implementations ----------------------------------------------------------------------


def numpy_laplacian3d(a, out):
    c = a[1:-1, 1:-1, 1:-1]
    out[1:-1, 1:-1, 1:-1] = (-6.0 * c + a[2:, 1:-1, 1:-1] + a[:-2, 1:-1, 1:-1] + a[1:-1, 2:, 1:-1]
                             + a[1:-1, :-2, 1:-1] + a[1:-1, 1:-1, 2:] + a[1:-1, 1:-1, :-2])


def numpy_laplacian2d(a, out):
    out[1:-1, 1:-1] = -4.0 * a[1:-1, 1:-1] + a[2:, 1:-1] + a[:-2, 1:-1] + a[1:-1, 2:] + a[1:-1, :-2]


def numba_kernels():
    """Numba versions: @njit(parallel=True) with prange, and @stencil. None when Numba is missing."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True)
    def lap3_prange(a, out):
        n0, n1, n2 = a.shape
        for i in numba.prange(1, n0 - 1):
            for j in range(1, n1 - 1):
                for k in range(1, n2 - 1):
                    out[i, j, k] = (-6.0 * a[i, j, k] + a[i + 1, j, k] + a[i - 1, j, k] + a[i, j + 1, k]
                                    + a[i, j - 1, k] + a[i, j, k + 1] + a[i, j, k - 1])

    @numba.stencil
    def lap3_stencil(a):
        return (-6.0 * a[0, 0, 0] + a[1, 0, 0] + a[-1, 0, 0] + a[0, 1, 0] + a[0, -1, 0] + a[0, 0, 1] + a[0, 0, -1])

    @numba.njit(parallel=True)
    def lap3_stencil_call(a, out):
        lap3_stencil(a, out=out)

    @numba.njit(parallel=True)
    def lap2_prange(a, out):
        n0, n1 = a.shape
        for i in numba.prange(1, n0 - 1):
            for j in range(1, n1 - 1):
                out[i, j] = -4.0 * a[i, j] + a[i + 1, j] + a[i - 1, j] + a[i, j + 1] + a[i, j - 1]

    @numba.stencil
    def lap2_stencil(a):
        return -4.0 * a[0, 0] + a[1, 0] + a[-1, 0] + a[0, 1] + a[0, -1]

    @numba.njit(parallel=True)
    def lap2_stencil_call(a, out):
        lap2_stencil(a, out=out)

    @numba.njit(parallel=True)
    def bilateral_prange(a, fd, fs, out, r):
        n = a.shape[0]
        for i in numba.prange(r, n - r):
            for j in range(r, n - r):
                for k in range(r, n - r):
                    acc = out[i, j, k]
                    for p in range(-r, r + 1):
                        for q in range(-r, r + 1):
                            for s in range(-r, r + 1):
                                if p == 0 and q == 0 and s == 0:
                                    continue
                                d = np.sqrt(float(p * p + q * q + s * s))
                                acc = acc + a[i + p, j + q, k + s] * fd[int(d)] * fs[abs(int(a[i, j, k] - a[i + p, j + q, k + s]))]
                    out[i, j, k] = acc

    @numba.njit
    def tiny(a, out):
        out[1, 1] = a[1, 1]

    return {"numba": numba.__version__, "lap3_prange": lap3_prange, "lap3_stencil": lap3_stencil_call,
            "lap2_prange": lap2_prange, "lap2_stencil": lap2_stencil_call, "bilateral_prange": bilateral_prange,
            "tiny": tiny}


def asp_configurations(kernel: str) -> list:
    """(label, environment) for each C backend and JIT driver, and the OpenCL backend on the Laplacians.

    Device backends keep the grids in device memory between calls (residency), so their
    timed loop has no copies: what a time-stepping program that reads results only at the end sees.
    """
    out = []
    for backend in ("openmp", "pthreads"):
        for jit in ("orc", "system"):
            out.append((f"asp-{backend}-{jit}", {"ASP_BACKEND": backend, "ASP_BENCH_JIT": jit}))
    if kernel != "bilateral3d":
        out.append(("asp-opencl", {"ASP_BACKEND": "opencl"}))
    return out


def asp_in_subprocess(kernel: str, n: int, env: dict, repeat: int, cache_dir: str) -> dict:
    """Times an Asp kernel in a fresh process (one backend and driver each, no runtime interference)."""
    child_env = dict(os.environ, ASP_BACKEND=env["ASP_BACKEND"], ASP_CACHE_DIR=cache_dir,
                     ASP_BENCH_YARDSTICKS=str(YARDSTICKS))
    if "ASP_BENCH_JIT" in env:
        config = Path(cache_dir) / f"jit-{env['ASP_BENCH_JIT']}.yaml"
        config.write_text(f"backends:\n  {env['ASP_BACKEND']}:\n    jit: {env['ASP_BENCH_JIT']}\n")
        child_env["ASP_CONFIG"] = str(config)
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "asp_child.py"), kernel, str(n), str(repeat)],
                            env=child_env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout)


# ---- the kernels ---------------------------------------------------------------------------


KERNELS = {
    # name: (bytes of compulsory traffic per interior point, description)
    "laplacian3d": (16, "3-D 7-point Laplacian, float64: read in once, write out once"),
    "laplacian2d": (16, "2-D 5-point Laplacian, float64: read in once, write out once"),
    "bilateral3d": (16, "3-D bilateral filter, radius 3 (342 neighbours): compute-bound; lookups stay in cache"),
}


def sizes(quick: bool) -> dict:
    if quick:
        return {"laplacian3d": 64, "laplacian2d": 512, "bilateral3d": 24}
    return {"laplacian3d": 256, "laplacian2d": 4096, "bilateral3d": 128}


def interior_points(kernel: str, n: int) -> int:
    if kernel == "laplacian3d":
        return (n - 2) ** 3
    if kernel == "laplacian2d":
        return (n - 2) ** 2
    return (n - 2 * BILATERAL_RADIUS) ** 3


def run_kernel(kernel: str, n: int, lib, numba_fns, repeat: int, cache_dir: str) -> dict:
    rng = np.random.default_rng(0)
    results = {}
    if kernel == "bilateral3d":
        in_img, fd, fs, _ = bilateral_grids(n)
        a = in_img.data
        reference = np.zeros_like(a)
        lib.bilateral3d.argtypes = [DOUBLE_P, DOUBLE_P, DOUBLE_P, DOUBLE_P, ctypes.c_int64, ctypes.c_int64]
        hand = lambda out: lib.bilateral3d(pointer(a), pointer(fd.data), pointer(fs.data), pointer(out), n, BILATERAL_RADIUS)
        numpy_fn = None
        numba_fn = (lambda out: numba_fns["bilateral_prange"](a, fd.data, fs.data, out, BILATERAL_RADIUS)) if numba_fns else None
        numba_stencil = None
    else:
        shape = (n,) * (3 if kernel == "laplacian3d" else 2)
        a = rng.random(shape)
        reference = np.zeros_like(a)
        if kernel == "laplacian3d":
            lib.laplacian3d.argtypes = [DOUBLE_P, DOUBLE_P, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64]
            hand = lambda out: lib.laplacian3d(pointer(a), pointer(out), n, n, n)
            numpy_fn = lambda out: numpy_laplacian3d(a, out)
            numba_fn = (lambda out: numba_fns["lap3_prange"](a, out)) if numba_fns else None
            numba_stencil = (lambda out: numba_fns["lap3_stencil"](a, out)) if numba_fns else None
        else:
            lib.laplacian2d.argtypes = [DOUBLE_P, DOUBLE_P, ctypes.c_int64, ctypes.c_int64]
            hand = lambda out: lib.laplacian2d(pointer(a), pointer(out), n, n)
            numpy_fn = lambda out: numpy_laplacian2d(a, out)
            numba_fn = (lambda out: numba_fns["lap2_prange"](a, out)) if numba_fns else None
            numba_stencil = (lambda out: numba_fns["lap2_stencil"](a, out)) if numba_fns else None
    hand(reference)

    def check_and_time(label, function, exact):
        out = np.zeros_like(reference)
        function(out)
        inner = tuple(slice(BILATERAL_RADIUS if kernel == "bilateral3d" else 1, -(BILATERAL_RADIUS if kernel == "bilateral3d" else 1))
                      for _ in reference.shape)
        same = out[inner].tobytes() == reference[inner].tobytes() if exact else np.allclose(out[inner], reference[inner], rtol=1e-12, atol=1e-12)
        if not same:
            results[label] = {"error": "result differs from the hand-written C"}
            return
        results[label] = measure(lambda: function(out), repeat)

    check_and_time("hand-c", hand, True)
    if numpy_fn:
        check_and_time("numpy", numpy_fn, False)
    if numba_fn:
        check_and_time("numba-prange", numba_fn, False)
    if numba_stencil:
        check_and_time("numba-stencil", numba_stencil, False)
    digest = hashlib.sha256(reference.tobytes()).hexdigest()
    for label, env in asp_configurations(kernel):
        timing = asp_in_subprocess(kernel, n, env, repeat, cache_dir)
        if "sha256" in timing and timing.pop("sha256") != digest:
            timing = {"error": "result differs from the hand-written C"}
        results[label] = timing
    return results


# ---- specialization and dispatch overhead, scaling -------------------------------------------


def _first_calls(kernel: str, n: int, repeat: int, cache_dir: str, cold: bool) -> dict:
    """First call of an Asp kernel in `repeat` new processes (openmp, ORC), inside the process."""
    firsts = []
    for _ in range(repeat):
        if cold:
            # Nothing of an earlier run: no binary and no tuning record.
            for entry in Path(cache_dir).iterdir():
                if entry.is_file():
                    entry.unlink()
        timing = asp_in_subprocess(kernel, n, {"ASP_BACKEND": "openmp", "ASP_BENCH_JIT": "orc"}, 3, cache_dir)
        if "first_call" not in timing:
            return {"error": timing.get("error", "failed")}
        # The first call's own kernel time is negligible on these grids.
        firsts.append(timing["first_call"])
    return {"median": statistics.median(firsts), "min": min(firsts), "max": max(firsts), "runs": repeat}


NUMBA_FIRST_CALL = textwrap.dedent("""
    import sys, time, numpy as np, numba
    @numba.njit(parallel=True)
    def lap3(a, out):
        n0, n1, n2 = a.shape
        for i in numba.prange(1, n0 - 1):
            for j in range(1, n1 - 1):
                for k in range(1, n2 - 1):
                    out[i, j, k] = (-6.0 * a[i, j, k] + a[i + 1, j, k] + a[i - 1, j, k] + a[i, j + 1, k]
                                    + a[i, j - 1, k] + a[i, j, k + 1] + a[i, j, k - 1])
    @numba.njit(parallel=True)
    def lap2(a, out):
        n0, n1 = a.shape
        for i in numba.prange(1, n0 - 1):
            for j in range(1, n1 - 1):
                out[i, j] = -4.0 * a[i, j] + a[i + 1, j] + a[i - 1, j] + a[i, j + 1] + a[i, j - 1]
    shape = (16, 16, 16) if sys.argv[1] == "laplacian3d" else (8, 8)
    a = np.random.random(shape); out = np.zeros_like(a)
    function = lap3 if len(shape) == 3 else lap2
    start = time.perf_counter(); function(a, out); print(time.perf_counter() - start)
""")


def _numba_first_calls(kernel: str, repeat: int) -> Optional[dict]:
    firsts = []
    for _ in range(repeat):
        result = subprocess.run([sys.executable, "-c", NUMBA_FIRST_CALL, kernel], capture_output=True, text=True,
                                env=dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="numba-")))
        if result.returncode != 0:
            return None
        firsts.append(float(result.stdout))
    return {"median": statistics.median(firsts), "min": min(firsts), "max": max(firsts), "runs": len(firsts)}


def specialization_overhead(repeat: int) -> dict:
    """First-call cost of Asp in a new process, next to Numba's (DESIGN.md §9, issue 10's table).

    asp_cold: 16^3 3-D Laplacian, empty cache; asp_cold_8x8: 8x8 2-D Laplacian, empty cache;
    asp_warm: 16^3 3-D Laplacian, the disk cache (and tuning record) of an earlier process.
    """
    out = {}
    with tempfile.TemporaryDirectory(prefix="asp-bench-spec-") as cache_dir:
        out["asp_cold"] = _first_calls("laplacian3d", 16, repeat, cache_dir, cold=True)
        out["asp_warm"] = _first_calls("laplacian3d", 16, repeat, cache_dir, cold=False)
    with tempfile.TemporaryDirectory(prefix="asp-bench-spec-") as cache_dir:
        out["asp_cold_8x8"] = _first_calls("laplacian2d", 8, repeat, cache_dir, cold=True)
    for name, kernel in (("numba_first_call", "laplacian3d"), ("numba_first_call_8x8", "laplacian2d")):
        timing = _numba_first_calls(kernel, repeat)
        if timing:
            out[name] = timing
    return out


def dispatch_overhead(numba_fns, calls: int) -> dict:
    """Per-call cost on an 8x8 grid: Asp's dispatch, the native call alone, an empty nanobind call
    with the same arguments, Numba calls."""
    from asp import _core
    grid, out = StencilGrid.from_array(np.random.default_rng(0).random((8, 8))), StencilGrid([8, 8])
    kernel = Laplacian2D()
    kernel.kernel(grid, out)
    specialized = next(iter(kernel._specialized.values()))
    for _ in range(_core.tuner_runs_per_variant * len(specialized.variants)):
        kernel.kernel(grid, out)  # the tuner has settled

    def per_call(function):
        function()
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(calls):
                function()
            samples.append((time.perf_counter() - start) / calls)
        return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": 7}

    result = {"asp_kernel_call": per_call(lambda: kernel.kernel(grid, out))}
    a, b = grid._native_argument(), out._native_argument()
    result["asp_native_call"] = per_call(lambda: specialized(a, b))
    result["nanobind_empty_call"] = per_call(lambda: _core._nop(grid, out))
    result["asp_overhead"] = {k: result["asp_kernel_call"][k] - result["nanobind_empty_call"]["median"]
                              for k in ("median", "min", "max")}
    if numba_fns:
        result["numba_call"] = per_call(lambda: numba_fns["tiny"](grid.data, out.data))
        result["numba_laplacian2d_call"] = per_call(lambda: numba_fns["lap2_prange"](grid.data, out.data))
    return result


def scaling(llc: int, repeat: int) -> dict:
    """Time per sweep of the 3-D Laplacian from in-cache to 8x the last-level cache, on 1 and 2 threads."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="asp-bench-scale-") as cache_dir:
        for factor in (0.25, 0.5, 1, 2, 4, 8):
            n = max(8, round((factor * llc / 16) ** (1 / 3)))
            for threads in (1, 2):
                os.environ["ASP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(threads)
                timing = asp_in_subprocess("laplacian3d", n, {"ASP_BACKEND": "openmp", "ASP_BENCH_JIT": "orc"}, repeat, cache_dir)
                if "median" in timing:
                    timing["GBs"] = 16 * (n - 2) ** 3 / timing["median"] / 1e9
                rows.append({"n": n, "bytes": 16 * n ** 3, "llc_factor": factor, "threads": threads, **timing})
    for name in ("ASP_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.pop(name, None)
    return {"rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids and few repetitions (a smoke test)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where results.json and the plots go")
    parser.add_argument("--overhead", action="store_true",
                        help="only the specialization and dispatch overheads (results in DIR/overhead.json)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    if args.overhead:
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        report = {"specialization": specialization_overhead(repeat),
                  "dispatch": dispatch_overhead(numba_kernels(), 2000 if args.quick else 20000)}
        (out_dir / "overhead.json").write_text(json.dumps(report, indent=2))
        print_overhead(report)
        return 0
    lib = ctypes.CDLL(str(YARDSTICKS))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    numba_fns = numba_kernels()
    llc = last_level_cache_bytes()
    report = {
        "machine": machine_description(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_fns["numba"] if numba_fns else None,
        "stream": stream(lib, llc, repeat),
        "kernels": {},
    }
    with tempfile.TemporaryDirectory(prefix="asp-bench-cache-") as cache_dir:
        for kernel, n in sizes(args.quick).items():
            results = run_kernel(kernel, n, lib, numba_fns, repeat, cache_dir)
            points = interior_points(kernel, n)
            per_point, description = KERNELS[kernel]
            for timing in results.values():
                if "median" in timing:
                    timing["GBs"] = per_point * points / timing["median"] / 1e9
                    timing["fraction_of_copy"] = timing["GBs"] / report["stream"]["copy_GBs"]
            report["kernels"][kernel] = {"n": n, "bytes_per_point": per_point, "description": description, "results": results}
    report["specialization"] = specialization_overhead(3)
    report["dispatch"] = dispatch_overhead(numba_fns, 2000 if args.quick else 20000)
    report["scaling"] = scaling(llc, repeat)
    (out_dir / "results.json").write_text(json.dumps(report, indent=2))
    plots(report, out_dir)
    print_table(report)
    return 0


def plots(report: dict, out_dir: Path) -> None:
    """A roofline-style chart of achieved bandwidth against the ceiling, and a bar chart of the ratios."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    copy = report["stream"]["copy_GBs"]
    fig, axes = plt.subplots(1, len(report["kernels"]), figsize=(5 * len(report["kernels"]), 4.5), squeeze=False)
    for ax, (kernel, data) in zip(axes[0], report["kernels"].items()):
        labels = [label for label, t in data["results"].items() if "GBs" in t]
        colors = ["#888" if not label.startswith("asp") else "#2a7" for label in labels]
        ax.set_title(f"{kernel} (n={data['n']})")
        if kernel == "bilateral3d":
            # Compute-bound: far from the bandwidth ceiling, so its panel shows throughput in points instead.
            points = interior_points(kernel, data["n"])
            ax.barh(labels, [points / data["results"][label]["median"] / 1e6 for label in labels], color=colors)
            ax.set_xlabel("million points per second (compute-bound)")
            continue
        ax.barh(labels, [data["results"][label]["GBs"] for label in labels], color=colors)
        ax.axvline(copy, color="red", linestyle="--", label=f"STREAM copy {copy:.0f} GB/s")
        ax.set_xlabel("effective GB/s (compulsory traffic)")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "bandwidth.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    names, ratios = [], []
    for kernel, row in ratio_rows(report):
        for what in ("hand-c", "numpy", "numba"):
            if row.get(what):
                names.append(f"{kernel}\nvs {what}")
                ratios.append(row[what])
    ax.bar(names, ratios, color="#2a7")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("speed-up of Asp (other time / Asp time)")
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "ratios.png", dpi=110)
    plt.close(fig)


def best_asp(results: dict):
    timed = [(t["median"], label) for label, t in results.items() if label.startswith("asp") and "median" in t]
    return min(timed) if timed else (None, None)


def ratio_rows(report: dict):
    """Per kernel: Asp's best time as a fraction of the ceiling and as speed-ups over the others."""
    for kernel, data in report["kernels"].items():
        results = data["results"]
        asp_time, asp_label = best_asp(results)
        if asp_time is None:
            continue
        numba = min((results[k]["median"] for k in ("numba-prange", "numba-stencil") if "median" in results.get(k, {})), default=None)
        yield kernel, {
            "asp": asp_label,
            "ceiling": results[asp_label]["fraction_of_copy"],
            "hand-c": results["hand-c"]["median"] / asp_time if "median" in results.get("hand-c", {}) else None,
            # The same C on the Asp process's own arrays: independent of where the arrays lie.
            "hand-c-same": (results[asp_label]["hand_c_same_arrays"] / asp_time
                            if "hand_c_same_arrays" in results[asp_label] else None),
            "numpy": results["numpy"]["median"] / asp_time if "median" in results.get("numpy", {}) else None,
            "numba": numba / asp_time if numba else None,
        }


def print_overhead(report: dict) -> None:
    print("\nfirst call in a new process, inside the process (median ms; cold = empty cache, warm = disk cache;"
          " 16^3 3-D Laplacian unless 8x8):")
    for name, t in report.get("specialization", {}).items():
        print(f"  {name:<24} {t['median'] * 1e3:8.1f}  ({t['min'] * 1e3:.1f}..{t['max'] * 1e3:.1f})" if "median" in t else f"  {name}: {t}")
    print("\nper call on an 8x8 grid, tuner settled (median µs; overhead = StencilKernel call - empty nanobind call):")
    for name, t in report.get("dispatch", {}).items():
        print(f"  {name:<24} {t['median'] * 1e6:8.2f}  ({t['min'] * 1e6:.2f}..{t['max'] * 1e6:.2f})")


def print_table(report: dict) -> None:
    print(report["machine"])
    print("\nRatios (Asp = best Asp backend; > 1 means Asp is faster)")
    print(f"{'kernel':<12} {'Asp':<24} {'Asp/ceiling':>11} {'C/Asp':>7} {'C/Asp same arrays':>18} {'NumPy/Asp':>10} {'Numba/Asp':>10}")
    fmt = lambda v: f"{v:.2f}" if v else "-"
    for kernel, row in ratio_rows(report):
        print(f"{kernel:<12} {row['asp']:<24} {row['ceiling']:11.2f} {fmt(row['hand-c']):>7} {fmt(row['hand-c-same']):>18} "
              f"{fmt(row['numpy']):>10} {fmt(row['numba']):>10}")
    s = report["stream"]
    print(f"\nceiling: STREAM copy {s['copy_GBs']:.1f} GB/s, triad {s['triad_GBs']:.1f} GB/s\n")
    header = f"{'kernel':<12} {'implementation':<24} {'median ms':>10} {'spread ms':>16} {'GB/s':>7} {'/copy':>6}"
    print(header)
    for kernel, data in report["kernels"].items():
        for label, t in data["results"].items():
            if "median" not in t:
                print(f"{kernel:<12} {label:<24} {t.get('error', '?')}")
                continue
            print(f"{kernel:<12} {label:<24} {t['median'] * 1e3:10.2f} {t['min'] * 1e3:7.2f}..{t['max'] * 1e3:7.2f} "
                  f"{t['GBs']:7.1f} {t['fraction_of_copy']:6.2f}")
    print_overhead(report)
    print("\nscaling, 3-D Laplacian, openmp/orc (ms per sweep):")
    for row in report.get("scaling", {}).get("rows", []):
        if "median" in row:
            print(f"  n={row['n']:<4} {row['llc_factor']:>5}x LLC  {row['threads']} thread(s)  {row['median'] * 1e3:9.3f} ms  {row['GBs']:6.1f} GB/s")


if __name__ == "__main__":
    sys.exit(main())
