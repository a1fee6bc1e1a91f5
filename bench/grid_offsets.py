"""Does the offset between an input and an output grid change the 3-D Laplacian's sweep time?

Each grid lives in its own mmap'd buffer (transparent huge pages asked for with madvise), the
output's start shifted by `shift` bytes from a 2 MiB boundary, the input's on one; the sweep runs
through asp.stencil (the tuner's choice), interleaved over the shifts, best of 10 each.

Usage (after scripts/setup): .venv/bin/python bench/grid_offsets.py [n]   (default 256)
"""
import ctypes
import mmap
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stencils import Laplacian3D  # noqa: E402
from asp.stencil import StencilGrid  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
nbytes = n ** 3 * 8
HUGE = 2 << 20


def grid_at(shift):
    buf = mmap.mmap(-1, nbytes + 2 * HUGE)
    raw = np.frombuffer(buf, dtype=np.uint8)
    base = (-raw.ctypes.data) % HUGE
    MADV_HUGEPAGE = 14
    ctypes.CDLL(None).madvise(ctypes.c_void_p(raw.ctypes.data), ctypes.c_size_t(len(raw)), MADV_HUGEPAGE)
    a = raw[base + shift: base + shift + nbytes].view(np.float64).reshape((n,) * 3)
    a[...] = 0
    return a


rng = np.random.default_rng(0)
inp = grid_at(0); inp[...] = rng.random((n,) * 3)
shifts = [0, 64, 256, 1024, 2048, 4096 + 64, 8192 + 192, 1 << 20]
outs = {s: grid_at(s) for s in shifts}
k = Laplacian3D()
g_in = StencilGrid.from_array(inp)
grids = {s: StencilGrid.from_array(o) for s, o in outs.items()}
for s in shifts:
    k.kernel(g_in, grids[s])
best = {s: 1e9 for s in shifts}
for rnd in range(5):
    for s in shifts:
        for _ in range(2):
            t = time.perf_counter(); k.kernel(g_in, grids[s]); dt = time.perf_counter() - t
            best[s] = min(best[s], dt)
ref = best[0]
for s in shifts:
    print(f"shift {s:8d} B: {best[s]*1e3:7.2f} ms  ratio to 0: {best[s]/ref:5.3f}")
print("variant", k.last_call.variant, "backend", k.last_call.backend)
