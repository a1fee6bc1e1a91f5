"""The streaming variant (non-temporal stores) of sweeps whose output exceeds the last-level cache.

The lowering offers it only for an output grid larger than the machine's
last-level cache (the C++ lowering tests check the threshold itself); here
every variant of a sweep that large runs, and each must give the same bits as
the plain sweep and as NumPy computing Python's sums in Python's order.
"""
import numpy as np
import pytest

from asp import _core
from asp.stencil import StencilGrid, StencilKernel


class Laplacian2D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4.0 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def reference(a):
    """Python's value at every interior point: -4 a[x], then the neighbours in definition order (+1, -1 per axis)."""
    out = np.zeros_like(a)
    c = a[1:-1, 1:-1]
    out[1:-1, 1:-1] = -4.0 * c + a[2:, 1:-1] + a[:-2, 1:-1] + a[1:-1, 2:] + a[1:-1, :-2]
    return out


def variants_run(kernel, grids):
    """Calls the kernel until the tuner has tried each variant; the output of each, by variant name."""
    spec = next(iter(kernel._specialized.values()))
    outputs = {}
    for _ in range(_core.tuner_runs_per_variant * len(spec.variants)):
        grids[-1].data.fill(0)  # what a variant failing to write a point would leave: not the sum
        kernel.kernel(*grids)
        outputs[kernel.last_call.variant] = grids[-1].data.copy()
    return spec, outputs


def test_small_grids_have_no_streaming_variant():
    k = Laplacian2D()
    grids = [StencilGrid.from_array(np.random.default_rng(1).random((64, 64))), StencilGrid([64, 64])]
    k.kernel(*grids)
    assert k.last_call.backend is not None, k.last_call
    spec = next(iter(k._specialized.values()))
    assert not any(v.endswith("_stream") for v in spec.variants), spec.variants


@pytest.mark.parametrize("dtype, columns", [(np.float64, 2051), (np.float32, 4101)])
def test_every_variant_of_a_sweep_past_the_cache_gives_the_plain_bits(dtype, columns):
    # 48 MiB of output (past the 32 MiB cache of the machines this runs on), in rows of an odd
    # length, so that rows start at every alignment and end with a partial line.
    a = np.random.default_rng(0).random((3072, columns)).astype(dtype)
    k = Laplacian2D()
    grids = [StencilGrid.from_array(a), StencilGrid(a.shape, dtype=dtype)]
    k.kernel(*grids)
    assert k.last_call.backend is not None, k.last_call
    spec, outputs = variants_run(k, grids)
    if not any(v.endswith("_stream") for v in spec.variants):
        pytest.skip(f"the output ({a.nbytes} bytes) fits this machine's last-level cache: no streaming variant")
    # The exact unrollings do not run: an odd row is no multiple of their factor.
    assert {"kernel", "kernel_stream"} <= set(outputs), (sorted(outputs), spec.variants)
    expected = reference(a)
    for variant, out in outputs.items():
        assert out.tobytes() == expected.tobytes(), variant
