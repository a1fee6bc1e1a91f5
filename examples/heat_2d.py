"""Explicit 2-D heat diffusion: a hot square spreads over 200 steps."""
import numpy as np

from asp.stencil import StencilGrid, StencilKernel

ALPHA = 0.2  # a module constant: part of the specialization


class HeatStep(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += ALPHA * (in_grid[y] - in_grid[x])


def main(n=128, steps=200):
    a, b = StencilGrid([n, n]), StencilGrid([n, n])
    a.data[n // 2 - 8:n // 2 + 8, n // 2 - 8:n // 2 + 8] = 100.0
    step = HeatStep()
    for _ in range(steps):
        step.kernel(a, b)
        a, b = b, a
    print(f"heat after {steps} steps: total {a.data.sum():.3f}, peak {a.data.max():.3f} "
          f"(ran on {step.last_call.backend}, variant {step.last_call.variant})")


if __name__ == "__main__":
    main()
