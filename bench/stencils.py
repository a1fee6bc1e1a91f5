"""The suite's kernels: those of examples/ (shared by suite.py and asp_child.py)."""
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from asp.stencil import StencilGrid, StencilKernel  # noqa: E402
from bilateral_3d import Bilateral  # noqa: E402
from bilateral_3d import grids as bilateral_grids  # noqa: E402,F401
from laplacian_3d import Laplacian3D  # noqa: E402

BILATERAL_RADIUS = 3


class Laplacian2D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4.0 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Sqrt2D(StencilKernel):
    """Square-root heavy: five math.sqrt per point, each checked for Python's domain error."""

    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = math.sqrt(in_grid[x])
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + math.sqrt(in_grid[y])


def grids_for(kernel, n):
    """(kernel instance, grids, output array) for a suite kernel on an n-sized grid (random input, seed 0)."""
    if kernel == "bilateral3d":
        grids = bilateral_grids(n, BILATERAL_RADIUS)
        return Bilateral(), grids, grids[-1].data
    dims = 3 if kernel == "laplacian3d" else 2
    in_grid = StencilGrid.from_array(np.random.default_rng(0).random((n,) * dims))
    out_grid = StencilGrid([n] * dims)
    if kernel == "sqrt2d":
        return Sqrt2D(), (in_grid, out_grid), out_grid.data
    return (Laplacian3D() if dims == 3 else Laplacian2D()), (in_grid, out_grid), out_grid.data
