"""Stencil kernels whose Trees (data/*.tree, written by make_trees.py) the C++ tests specialize.

The first group are the kernels of the Asp stencil tests; each C++ test
compares its native result with a hand-written reference of the same Python
semantics. The kernels marked `# unsupported` or `# invalid` must each be
refused at the line of that comment.
"""
import math

import numpy as np
from asp.stencil import StencilKernel, distance

SPACING = 0.01
ALPHA = 0.25
NAME = "not a number"


class FourNeighbourSum(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class FourthOrderDerivative(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += in_grid[y] / (12 * SPACING)
            for y in in_grid.neighbors(x, 2):
                out_grid[x] -= 8 * in_grid[y] / (12 * SPACING)
            for y in in_grid.neighbors(x, 3):
                out_grid[x] += 8 * in_grid[y] / (12 * SPACING)
            for y in in_grid.neighbors(x, 4):
                out_grid[x] -= in_grid[y] / (12 * SPACING)


class Laplacian2D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Bilateral(StencilKernel):
    def kernel(self, in_img, filter_d, filter_s, out_img):
        for x in out_img.interior_points():
            for y in in_img.neighbors(x, 1):
                out_img[x] += in_img[y] * filter_d[int(distance(x, y))] * filter_s[abs(int(in_img[x] - in_img[y]))]


class DistanceWeighted(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += distance(x, y) * in_grid[y]


class Life(StencilKernel):
    def kernel(self, in_grid, rules, out_grid):
        for x in out_grid.interior_points():
            alive = 0
            for y in in_grid.neighbors(x, 1):
                alive = alive + in_grid[y]
            out_grid[x] = rules[int(alive + 9 * in_grid[x])]


class Heat(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += 0.1 * (in_grid[y] - in_grid[x])
        for x in out_grid.border_points():
            out_grid[x] = in_grid[x]


class ConstantLaplacian(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = self.constants["centre"] * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += self.constants["edge"] * in_grid[y]


class Everything(StencilKernel):
    """Every operator, call and statement the frontend accepts, on two float grids."""

    def kernel(self, a, b, out):
        scale = ALPHA * 2
        for x in out.interior_points():
            u = a[x]
            v = b[x]
            s = math.sqrt(abs(u)) + math.exp(-v * v) - math.log(1.0 + abs(v))
            t = math.sin(u) * math.cos(v) / (u * u + 1)
            q = u // 0.5 + u % 0.75 - (v ** 2) ** 0.5
            n = int(u * 10) // 3 + int(v * 10) % 4 - 2 ** 3
            m = min(u, v, 0.25) + max(u, -v) + math.floor(u * 4) + math.fabs(v) + math.ceil(v)
            if u > v and not (u > 0.9 or v < -0.9):
                w = s if t < 0 else t
            elif 0 <= u < 0.5:
                w = q + n
            else:
                w = float(n) / 7
            k = 0
            for y in a.neighbors(x, 1):
                k += 1
                if a[y] > u:
                    w = w - a[y] * scale
            out[x] = w + m / 2 - ALPHA * (x[0] - x[1]) + (1 if a[x] >= b[x] else 0) + k * math.pi


class Jacobi(StencilKernel):
    """Reads the grid it writes: Python's order decides the result."""

    def kernel(self, u):
        for x in u.interior_points():
            acc = 0.0
            for y in u.neighbors(x, 1):
                acc += u[y]
            u[x] = acc / 4


class PeriodicBorder(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.border_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += in_grid[y]


class Lookup(StencilKernel):
    def kernel(self, in_grid, table, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = table[int(in_grid[x])]


class NumpyDivision(StencilKernel):
    """NumPy's numbers divide by zero without raising: 0 for integers, inf or nan for floats."""

    def kernel(self, a, b, q, r, t, f, m):
        for x in q.interior_points():
            q[x] = a[x] // b[x]
            r[x] = a[x] % b[x]
            t[x] = a[x] / b[x]
            f[x] = t[x] // b[x]
            m[x] = t[x] % b[x]


class PythonDivision(StencilKernel):
    """Python's own ints and floats raise ZeroDivisionError."""

    def kernel(self, a, b, out):
        for x in out.interior_points():
            out[x] = a[x] + 7 // int(b[x])


# ---- refused: each at the line marked ----------------------------------------------


class WithWhile(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            k = 0
            while k < 2:  # unsupported
                out_grid[x] += in_grid[x]
                k += 1


class CallsUnknown(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = foo(in_grid[x])  # unsupported


class CallsNumpy(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = np.sqrt(in_grid[x])  # unsupported


class WritesAttribute(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            self.last = in_grid[x]  # unsupported


class ReadsString(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] * NAME  # unsupported


class ReadsUnknownName(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] * undefined_name  # unsupported


class ReadsPreviousPoint(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = last  # unsupported
            last = in_grid[x]


class ReturnsValue(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]
        return 1  # unsupported


class NestedPointLoops(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for z in in_grid.interior_points():  # unsupported
                out_grid[x] = in_grid[z]


class LoopsOverRange(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for k in range(3):  # unsupported
                out_grid[x] += k


class BitwiseOperator(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = int(in_grid[x]) << 2  # unsupported


class FloatIndex(StencilKernel):
    def kernel(self, in_grid, table, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = table[in_grid[x]]  # unsupported


class VariableIntegerPower(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            n = int(in_grid[x])
            out_grid[x] = 2 ** n  # unsupported


class WritesNeighbour(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[y] = in_grid[x]  # unsupported


class ListComprehension(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = sum([in_grid[y] for y in in_grid.neighbors(x, 1)])  # unsupported


class TypeChangesInBranch(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            if in_grid[x] > 0:
                v = 1
            else:
                v = 0.5
            out_grid[x] = v  # unsupported


class BeyondTheGhostZone(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 2):
                out_grid[x] += in_grid[y]  # invalid


class OtherShape(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]  # invalid
