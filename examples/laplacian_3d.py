"""The demonstration: a 3-D 7-point Laplacian written as an Asp stencil kernel.

Prints the time of the pure-Python kernel on a small grid, of NumPy slicing
and of Asp (first call, which specializes, and warm calls) on a 256^3 grid,
and how the results agree. Run: scripts/demo   (or .venv/bin/python examples/laplacian_3d.py [N])
"""
import statistics
import sys
import time

import numpy as np

from asp.stencil import StencilGrid, StencilKernel


class Laplacian3D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -6.0 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def numpy_laplacian(a, out):
    c = a[1:-1, 1:-1, 1:-1]
    out[1:-1, 1:-1, 1:-1] = (-6.0 * c + a[2:, 1:-1, 1:-1] + a[:-2, 1:-1, 1:-1] + a[1:-1, 2:, 1:-1]
                             + a[1:-1, :-2, 1:-1] + a[1:-1, 1:-1, 2:] + a[1:-1, 1:-1, :-2])


def timed(function, repeat=1):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(n=256, small=24):
    rng = np.random.default_rng(0)

    # Pure Python is too slow for the large grid: time it on a small one, and use it as the reference there.
    small_in = StencilGrid.from_array(rng.random((small,) * 3))
    python_out, asp_small_out = StencilGrid([small] * 3), StencilGrid([small] * 3)
    python_kernel = Laplacian3D()
    python_kernel.pure_python = True
    t_python = timed(lambda: python_kernel.kernel(small_in, python_out))
    Laplacian3D().kernel(small_in, asp_small_out)
    bitwise = asp_small_out.data.tobytes() == python_out.data.tobytes()

    in_grid = StencilGrid.from_array(rng.random((n,) * 3))
    out_grid = StencilGrid([n] * 3)
    reference = np.zeros((n,) * 3)
    t_numpy = timed(lambda: numpy_laplacian(in_grid.data, reference), repeat=3)

    kernel = Laplacian3D()
    t_cold = timed(lambda: kernel.kernel(in_grid, out_grid))
    t_warm = timed(lambda: kernel.kernel(in_grid, out_grid), repeat=10)
    difference = np.max(np.abs(out_grid.data - reference))
    call = kernel.last_call

    print(f"3-D 7-point Laplacian, {n}^3 float64 grid")
    print(f"  pure Python, {small}^3 grid:       {t_python * 1e3:10.1f} ms "
          f"({t_python / (small - 2) ** 3 * 1e9:.0f} ns per point)")
    print(f"  NumPy slicing:                {t_numpy * 1e3:10.2f} ms")
    print(f"  Asp, first call (specializes): {t_cold * 1e3:9.2f} ms")
    print(f"  Asp, warm (median of 10):     {t_warm * 1e3:10.2f} ms   backend {call.backend}, variant {call.variant}")
    print(f"  Asp is {t_numpy / t_warm:.1f}x NumPy, {t_python / (small - 2) ** 3 / (t_warm / (n - 2) ** 3):.0f}x pure Python per point")
    print(f"  agreement: bitwise equal to pure Python on {small}^3: {bitwise}; "
          f"max |Asp - NumPy| on {n}^3: {difference:.3g}")
    return 0 if bitwise and difference < 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:])))
