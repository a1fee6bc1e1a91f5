"""The suite's kernels as Asp stencil kernels (shared by suite.py and asp_child.py)."""
import math

import numpy as np

from asp.stencil import StencilGrid, StencilKernel, distance

BILATERAL_RADIUS = 3


class Laplacian3D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -6.0 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Laplacian2D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4.0 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Bilateral(StencilKernel):
    def kernel(self, in_img, filter_d, filter_s, out_img):
        for x in out_img.interior_points():
            for y in in_img.neighbors(x, 1):
                out_img[x] += in_img[y] * filter_d[int(distance(x, y))] * filter_s[abs(int(in_img[x] - in_img[y]))]


def grid_of(array):
    return StencilGrid.from_array(array)


def bilateral_grids(n, radius=BILATERAL_RADIUS, sigma_d=1.5, sigma_s=40.0):
    in_img = StencilGrid.from_array(np.random.default_rng(0).uniform(0, 255, (n, n, n)))
    in_img.ghost_depth = radius
    in_img.neighbor_definition[1] = [
        (a, b, c) for a in range(-radius, radius + 1) for b in range(-radius, radius + 1)
        for c in range(-radius, radius + 1) if (a, b, c) != (0, 0, 0)]
    filter_d = StencilGrid.from_array(np.array([math.exp(-d * d / (2 * sigma_d ** 2)) for d in range(6)]))
    filter_s = StencilGrid.from_array(np.array([math.exp(-s * s / (2 * sigma_s ** 2)) for s in range(256)]))
    out_img = StencilGrid([n, n, n])
    out_img.ghost_depth = radius
    return in_img, filter_d, filter_s, out_img


def grids_for(kernel, n):
    """(kernel instance, grids, output array) for a suite kernel on an n-sized grid (random input, seed 0)."""
    if kernel == "bilateral3d":
        grids = bilateral_grids(n)
        return Bilateral(), grids, grids[-1].data
    dims = 3 if kernel == "laplacian3d" else 2
    in_grid = StencilGrid.from_array(np.random.default_rng(0).random((n,) * dims))
    out_grid = StencilGrid([n] * dims)
    return (Laplacian3D() if dims == 3 else Laplacian2D()), (in_grid, out_grid), out_grid.data
