"""The 3-D bilateral filter of the Asp paper: two lookup grids and a radius-3 neighbourhood."""
import math
import time

import numpy as np

from asp.stencil import StencilGrid, StencilKernel, distance


class Bilateral(StencilKernel):
    def kernel(self, in_img, filter_d, filter_s, out_img):
        for x in out_img.interior_points():
            for y in in_img.neighbors(x, 1):
                out_img[x] += in_img[y] * filter_d[int(distance(x, y))] * filter_s[abs(int(in_img[x] - in_img[y]))]


def grids(n, radius=3, sigma_d=1.5, sigma_s=40.0):
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


def main(n=64):
    kernel = Bilateral()
    args = grids(n)
    kernel.kernel(*args)
    start = time.perf_counter()
    kernel.kernel(*args)
    print(f"bilateral filter on {n}^3: {(time.perf_counter() - start) * 1e3:.1f} ms per sweep on {kernel.last_call.backend}")


if __name__ == "__main__":
    main()
