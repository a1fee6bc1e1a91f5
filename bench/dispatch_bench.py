"""Per-call overhead of a specialized kernel on a cache hit (DESIGN.md §9: dispatch).

Times, in one process, a call into asp._core that does nothing (the cost of
any nanobind call with the same arguments) and a call of a kernel of the test
domain "scale" on an 8x8 float64 grid, after the tuner has settled; the
difference is what Asp adds to a native call (argument checks, binding, the
tuner's choice, releasing and retaking the GIL) plus the 64-element loop
itself. DESIGN.md's budget for it is 2 us.

Usage (after scripts/setup, which builds the test plugin):

    .venv/bin/python bench/dispatch_bench.py [--build-dir build] [--calls 200000]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import timeit

ROOT = pathlib.Path(__file__).resolve().parents[1]


def per_call(function, calls: int, repeats: int = 7) -> float:
    """The median over `repeats` runs of the mean time of one call, in microseconds."""
    runs = timeit.repeat(function, number=calls, repeat=repeats)
    return statistics.median(runs) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"), help="the CMake build directory (default: build)")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timing run")
    options = parser.parse_args()

    plugin = pathlib.Path(options.build_dir).resolve() / "tests" / "plugins" / "libasp_test_scale_plugin.so"
    if not plugin.exists():
        sys.exit(f"{plugin} is missing: build the tests first (scripts/setup)")
    work = tempfile.TemporaryDirectory(prefix="asp-dispatch-bench-")
    config = pathlib.Path(work.name) / "asp.yaml"
    config.write_text(f"plugins:\n  scale:\n    path: {plugin}\n")
    # Read by the core when it starts, at the first specialization below.
    os.environ["ASP_CONFIG"] = str(config)
    os.environ["ASP_CACHE_DIR"] = str(pathlib.Path(work.name) / "cache")

    import numpy as np

    import asp
    from asp import _core

    a = np.arange(64.0).reshape(8, 8)
    out = np.zeros_like(a)

    def scale(out, a):
        out[i] = a[i] * 2.5  # noqa: F821 (the scale domain's index)

    kernel = asp.specialize("scale", scale, {"out": out, "a": a})
    for _ in range(_core.tuner_runs_per_variant * len(kernel.variants)):
        kernel(out, a)  # every variant measured: the tuner has settled
    assert (out == a * 2.5).all()

    nop = per_call(lambda: _core._nop(out, a), options.calls)
    call = per_call(lambda: kernel(out, a), options.calls)
    numpy = per_call(lambda: np.multiply(a, 2.5, out=out), options.calls)
    print(f"backend {kernel.backend}, variant {kernel.variants[kernel(out, a)]}, {options.calls} calls x 7 runs (medians)")
    print(f"  empty nanobind call, 2 arrays      {nop:7.3f} us")
    print(f"  8x8 kernel call                    {call:7.3f} us")
    print(f"  overhead (kernel - empty call)     {call - nop:7.3f} us   (budget 2 us, includes the 64-element loop)")
    print(f"  numpy.multiply(a, 2.5, out=out)    {numpy:7.3f} us   (for scale)")


if __name__ == "__main__":
    main()
