"""Fourth-order finite difference of sin: ghost depth 2 and a replaced neighbour definition."""
import numpy as np

from asp.stencil import StencilGrid, StencilKernel

H = 0.01


class Derivative(StencilKernel):
    def kernel(self, f, df):
        for x in df.interior_points():
            for y in f.neighbors(x, 1):
                df[x] += f[y] / (12 * H)
            for y in f.neighbors(x, 2):
                df[x] -= 8 * f[y] / (12 * H)
            for y in f.neighbors(x, 3):
                df[x] += 8 * f[y] / (12 * H)
            for y in f.neighbors(x, 4):
                df[x] -= f[y] / (12 * H)


def main(n=1000):
    xs = np.arange(n) * H
    f, df = StencilGrid.from_array(np.sin(xs)), StencilGrid([n])
    for g in (f, df):
        g.ghost_depth = 2
    f.neighbor_definition = [[(0,)], [(-2,)], [(-1,)], [(1,)], [(2,)]]
    Derivative().kernel(f, df)
    print(f"max |d/dx sin - cos| = {np.max(np.abs(df.data[2:-2] - np.cos(xs[2:-2]))):.2e}")


if __name__ == "__main__":
    main()
