"""Programs written for the original Asp (2011) and its successor run unchanged.

Each convention of the original StencilKernel/StencilGrid API that asp.stencil
supports has a test that runs an original-style program natively (the backend
is recorded in ``last_call``) and as Python (``pure_python``), requires the two
to agree bitwise, and compares them with a NumPy reference. The conventions it
does not support raise an error that says what to write instead.
"""
import math
import os
import warnings

import numpy as np
import pytest

import asp
from asp.stencil import *  # noqa: F403 -- the original programs' `from stencil_kernel import *`
from asp.stencil import StencilGrid, StencilKernel, distance

RNG = np.random.default_rng(2011)
SCALE = 3.0  # a module global; a constant of the same name hides it inside kernels (and leaves it alone)


def grid_of(values, ghost_depth=1):
    grid = StencilGrid(list(values.shape), dtype=values.dtype)
    grid.data = values.copy()
    grid.ghost_depth = ghost_depth
    return grid


def copies(grids):
    out = []
    for g in grids:
        c = StencilGrid.from_array(g.data.copy())
        c.ghost_depth = g.ghost_depth
        c.neighbor_definition = [list(s) for s in g.neighbor_definition]
        out.append(c)
    return out


def native_and_python(kernel_factory, grids, output=-1):
    """Runs a kernel natively and as Python on copies of `grids`; returns both outputs (bitwise checked)."""
    native, python = kernel_factory(), kernel_factory()
    python.pure_python = True
    native_grids, python_grids = copies(grids), copies(grids)
    with warnings.catch_warnings():
        warnings.simplefilter("error", asp.FallbackWarning)  # a fallback would fail the test
        native.kernel(*native_grids)
    python.kernel(*python_grids)
    assert native.last_call.backend is not None and native.last_call.fallback_reason is None, native.last_call
    assert native.last_call.backend == os.environ.get("ASP_TEST_BACKEND", native.last_call.backend)
    assert python.last_call.backend is None and python.last_call.fallback_reason == "pure_python is set"
    a, b = native_grids[output].data, python_grids[output].data
    assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"max difference {np.max(np.abs(a - b))}"
    return a


def assert_bitwise(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), f"max difference {np.max(np.abs(a - b))}"


def four_neighbour_reference(values, centre, edge):
    """centre * v[x], then + edge * v[y] for the default neighbours (1,0), (-1,0), (0,1), (0,-1), in that order."""
    out = np.zeros_like(values)
    inner = values[1:-1, 1:-1] * centre
    for shifted in (values[2:, 1:-1], values[:-2, 1:-1], values[1:-1, 2:], values[1:-1, :-2]):
        inner = inner + edge * shifted
    out[1:-1, 1:-1] = inner
    return out


# ---- bare-name constants (the acceptance test) ------------------------------------


class BareHeat(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = beta * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + alpha * in_grid[y]


def bare_heat(constants):
    def make():
        k = BareHeat()
        k.constants = dict(constants)
        return k
    return make


def test_bare_name_constants_run_natively_and_as_python_bitwise():
    values = RNG.random((24, 40))
    result = native_and_python(bare_heat({"alpha": 0.1, "beta": 0.6}), [grid_of(values), grid_of(np.zeros_like(values))])
    assert_bitwise(result, four_neighbour_reference(values, 0.6, 0.1))
    assert "alpha" not in globals() and "beta" not in globals()  # the module was not touched


def test_a_changed_bare_constant_specializes_again():
    values = RNG.random((16, 16))
    kernel = bare_heat({"alpha": 0.1, "beta": 0.6})()
    a, out = grid_of(values), grid_of(np.zeros_like(values))
    kernel.kernel(a, out)
    assert_bitwise(out.data, four_neighbour_reference(values, 0.6, 0.1))
    kernel.constants["alpha"] = 0.25
    kernel.kernel(a, out)
    assert kernel.last_call.backend is not None
    assert_bitwise(out.data, four_neighbour_reference(values, 0.6, 0.25))


def test_bare_and_subscripted_constants_mix():
    class Mixed(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = self.constants["beta"] * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] += alpha * in_grid[y]

    values = RNG.random((12, 20))

    def make():
        k = Mixed()
        k.constants = {"alpha": 0.125, "beta": -0.5}
        return k

    result = native_and_python(make, [grid_of(values), grid_of(np.zeros_like(values))])
    assert_bitwise(result, four_neighbour_reference(values, -0.5, 0.125))


def test_constants_as_a_class_attribute_or_set_before_the_base_constructor():
    class ClassConstants(BareHeat):
        constants = {"alpha": 0.2, "beta": 0.3}

    class EarlyConstants(BareHeat):
        def __init__(self):
            self.constants = {"alpha": 0.4, "beta": 0.5}
            super().__init__()

    values = RNG.random((10, 10))
    for factory, (centre, edge) in ((ClassConstants, (0.3, 0.2)), (EarlyConstants, (0.5, 0.4))):
        result = native_and_python(factory, [grid_of(values), grid_of(np.zeros_like(values))])
        assert_bitwise(result, four_neighbour_reference(values, centre, edge))
    assert ClassConstants.constants == {"alpha": 0.2, "beta": 0.3}  # each object has its own copy


def test_a_constant_hides_a_module_global_of_the_same_name_on_both_paths():
    class Scaled(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = SCALE * in_grid[x]

    values = RNG.random((9, 11))

    def make():
        k = Scaled()
        k.constants = {"SCALE": 0.75}
        return k

    result = native_and_python(make, [grid_of(values), grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    expected[1:-1, 1:-1] = 0.75 * values[1:-1, 1:-1]
    assert_bitwise(result, expected)
    assert SCALE == 3.0


@pytest.mark.parametrize("constant, dtype", [
    (np.float64(0.1), np.float32),   # NumPy: a float64 times a float32 value computes in float64
    (np.float32(0.1), np.float32),
    (np.float64(0.1), np.float64),
    (np.int32(3), np.int32),
    (np.int64(-2), np.int32),        # int64 times int32 computes in int64
    (3, np.float32),                 # a Python int takes the grid's type
    (np.float32(0.5), np.float64),   # a float32 constant with float64 values computes in float64
])
def test_numpy_scalar_and_python_constants_promote_as_numpy_does(constant, dtype):
    class Weighted(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = c * in_grid[x] + self.constants["c"] * in_grid[x]

    values = (RNG.random((8, 12)) * 100).astype(dtype)

    def make():
        k = Weighted()
        k.constants = {"c": constant}
        return k

    result = native_and_python(make, [grid_of(values), grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    inner = values[1:-1, 1:-1]
    expected[1:-1, 1:-1] = constant * inner + constant * inner
    assert_bitwise(result, expected)


def test_a_bare_constant_chooses_the_neighbour_set():
    class ByConstant(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                for y in in_grid.neighbors(x, which):
                    out_grid[x] += in_grid[y]

    values = RNG.random((10, 10))
    a = grid_of(values)
    a.neighbor_definition.append([(1, 1), (-1, -1)])

    def make():
        k = ByConstant()
        k.constants = {"which": 2}
        return k

    result = native_and_python(make, [a, grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    expected[1:-1, 1:-1] = (0.0 + values[2:, 2:]) + values[:-2, :-2]
    assert_bitwise(result, expected)


def test_numpy_scalar_globals_keep_their_type():
    values = (RNG.random((8, 8))).astype(np.float32)
    result = native_and_python(GlobalScaled, [grid_of(values), grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    expected[1:-1, 1:-1] = GLOBAL_F64 * values[1:-1, 1:-1]  # float64 product, rounded once to float32
    assert_bitwise(result, expected)


GLOBAL_F64 = np.float64(0.1)


class GlobalScaled(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = GLOBAL_F64 * in_grid[x]


# ---- the errors: ambiguous, wrong or missing constants -----------------------------------------


class ReadsItsLoopVariable(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            t = in_grid[x]
            out_grid[x] = t * alpha


def small_grids():
    return StencilGrid([6, 6]), StencilGrid([6, 6])


@pytest.mark.parametrize("pure_python", [False, True])
@pytest.mark.parametrize("name, what", [
    ("x", "the loop variable 'x'"),
    ("t", "the local variable 't'"),
    ("in_grid", "the grid parameter 'in_grid'"),
    ("self", "the parameter 'self'"),
])
def test_a_constant_that_shadows_a_variable_of_the_kernel_is_refused(name, what, pure_python):
    kernel = ReadsItsLoopVariable(pure_python=pure_python)
    kernel.constants = {"alpha": 2.0, name: 1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", asp.FallbackWarning)
        with pytest.raises(ValueError, match=f"constants\\['{name}'\\] has the name of {what}.*rename"):
            kernel.kernel(*small_grids())
    assert kernel.last_call is None  # nothing ran


def test_a_subscripted_constant_may_share_a_local_name():
    # Today's convention: self.constants["x"] beside a loop variable x is no ambiguity.
    class Subscripted(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = self.constants["x"] * in_grid[x]

    values = RNG.random((7, 7))

    def make():
        k = Subscripted()
        k.constants = {"x": 0.5}
        return k

    result = native_and_python(make, [grid_of(values), grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    expected[1:-1, 1:-1] = 0.5 * values[1:-1, 1:-1]
    assert_bitwise(result, expected)


@pytest.mark.parametrize("pure_python", [False, True])
@pytest.mark.parametrize("value, kind", [("0.5", "str"), ([0.5], "list"), (np.ones(2), "ndarray"), (None, "NoneType")])
def test_a_bare_constant_that_is_not_a_number_is_refused(value, kind, pure_python):
    kernel = BareHeat(pure_python=pure_python)
    kernel.constants = {"alpha": value, "beta": 1.0}
    with pytest.raises(TypeError, match=f"reads 'alpha' from self.constants, where it is a {kind}; .*numbers"):
        kernel.kernel(*small_grids())
    assert kernel.last_call is None


@pytest.mark.parametrize("pure_python", [False, True])
def test_a_name_missing_from_the_constants_is_refused_before_anything_runs(pure_python):
    kernel = BareHeat(pure_python=pure_python)
    kernel.constants = {"beta": 1.0}
    a, out = small_grids()
    out.data[...] = 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", asp.FallbackWarning)
        with pytest.raises(NameError, match=r"reads 'alpha', which is neither a key of self.constants.*"
                                            r"set self.constants\['alpha'\]"):
            kernel.kernel(a, out)
    assert (out.data == 7.0).all() and kernel.last_call is None


def test_a_constant_that_hides_a_module_the_kernel_reads_is_refused():
    class UsesMath(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = math.sqrt(in_grid[x])

    kernel = UsesMath()
    kernel.constants = {"math": 1.0}
    with pytest.raises(ValueError, match="would hide the module 'math'"):
        kernel.kernel(*small_grids())


def test_a_constant_that_is_also_a_closure_variable_is_refused():
    alpha = 0.5

    class Closure(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = alpha * in_grid[x]

    kernel = Closure()
    kernel.constants = {"alpha": 0.25}
    with pytest.raises(ValueError, match="both self.constants\\['alpha'\\] and a variable"):
        kernel.kernel(*small_grids())
    kernel.constants = {}
    kernel.kernel(*small_grids())  # the closure variable alone is today's convention
    assert kernel.last_call.backend is not None


# ---- self.distance and distance -------------------------------------------------------------


def distance_reference(values, offsets):
    out = np.zeros_like(values)
    inner = out[1:-1, 1:-1].copy()
    for di, dj in offsets:
        shifted = values[1 + di:values.shape[0] - 1 + di, 1 + dj:values.shape[1] - 1 + dj]
        inner = inner + shifted * math.sqrt(di * di + dj * dj)
    out[1:-1, 1:-1] = inner
    return out


MOORE = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


class SelfDistance(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += in_grid[y] * self.distance(x, y)


class BareDistance(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += in_grid[y] * distance(y, x)


@pytest.mark.parametrize("kernel_class", [SelfDistance, BareDistance])
def test_distance_as_a_method_and_as_a_function(kernel_class):
    values = RNG.random((12, 9))
    a = grid_of(values)
    a.set_neighborhood(1, a.moore_neighborhood())
    assert a.neighbor_definition[1] == MOORE
    result = native_and_python(kernel_class, [a, grid_of(np.zeros_like(values))])
    assert_bitwise(result, distance_reference(values, MOORE))
    assert SelfDistance().distance((0, 0), (3, 4)) == 5.0


def test_an_overridden_distance_runs_as_python():
    class Manhattan(SelfDistance):
        def distance(self, x, y):
            return float(sum(abs(a - b) for a, b in zip(x, y)))

    values = RNG.random((6, 6))
    a, out = grid_of(values), grid_of(np.zeros_like(values))
    a.neighbor_definition[1] = MOORE
    kernel = Manhattan()
    with pytest.warns(asp.FallbackWarning, match="overrides StencilKernel.distance"):
        kernel.kernel(a, out)
    assert kernel.last_call.backend is None
    expected = np.zeros_like(values)
    inner = expected[1:-1, 1:-1].copy()
    for di, dj in MOORE:
        inner = inner + values[1 + di:5 + di, 1 + dj:5 + dj] * float(abs(di) + abs(dj))
    expected[1:-1, 1:-1] = inner
    assert_bitwise(out.data, expected)


# ---- the original programs ----------------------------------------------------------------------


class BilateralKernel(StencilKernel):  # the original's tests/bilateral_filter.py, unchanged
    def kernel(self, in_img, filter_d, filter_s, out_img):
        for x in out_img.interior_points():
            for y in in_img.neighbors(x, 1):
                out_img[x] += in_img[y] * filter_d[int(distance(x, y))] * filter_s[abs(int(in_img[x]-in_img[y]))]


def gaussian(stdev, length):
    result = StencilGrid([length])
    scale = 1.0/(stdev*math.sqrt(2.0*math.pi))
    divisor = -1.0 / (2.0 * stdev * stdev)
    for x in range(length):
        result[x] = scale * math.exp(float(x) * float(x) * divisor)
    return result


def test_the_original_bilateral_filter():
    radius, width, height = 3, 30, 24
    pixels = RNG.integers(0, 256, width * height)
    out_grid = StencilGrid([width, height])
    out_grid.ghost_depth = radius
    in_grid = StencilGrid([width, height])
    in_grid.ghost_depth = radius
    for x in range(-radius, radius + 1):
        for y in range(-radius, radius + 1):
            in_grid.neighbor_definition[1].append((x, y))
    for x in range(0, width):
        for y in range(0, height):
            in_grid.data[(x, y)] = pixels[y * width + x]
    filter_d, filter_s = gaussian(3, radius * 2), gaussian(70, 256)

    def make():
        kernel = BilateralKernel()
        kernel.should_unroll = False
        return kernel

    result = native_and_python(make, [in_grid, filter_d, filter_s, out_grid])

    v, fd, fs = in_grid.data, filter_d.data, filter_s.data
    r = radius
    inner = np.zeros((width - 2 * r, height - 2 * r))
    centre = v[r:width - r, r:height - r]
    for di, dj in in_grid.neighbor_definition[1]:
        shifted = v[r + di:width - r + di, r + dj:height - r + dj]
        weight_d = fd[int(math.sqrt(di * di + dj * dj))]
        weight_s = fs[np.abs((centre - shifted).astype(np.int64))]
        inner = inner + shifted * weight_d * weight_s
    expected = np.zeros_like(v)
    expected[r:width - r, r:height - r] = inner
    assert_bitwise(result, expected)


def test_the_original_readme_example_and_its_tests():
    # specializers/stencil/doc/README.txt and tests/stencil_kernel_test.py of the original
    class ExampleKernel(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + in_grid[y]

    in_grid = StencilGrid([5, 5])
    in_grid.neighbor_definition[1] = [(-1, 0), (0, -1), (1, 0), (0, 1)]
    in_grid.data = np.ones([5, 5])
    out_grid = StencilGrid([5, 5])
    out_grid.ghost_depth = 1
    result = native_and_python(ExampleKernel, [in_grid, out_grid])
    expected = np.zeros((5, 5))
    expected[1:-1, 1:-1] = 4.0
    assert_bitwise(result, expected)

    class My1DKernel(StencilKernel):
        def kernel(self, in_grid_1d, out_grid_1d):
            for x in out_grid_1d.interior_points():
                for y in in_grid_1d.neighbors(x, 1):
                    out_grid_1d[x] = out_grid_1d[x] + in_grid_1d[y]

    one = StencilGrid([10])
    one.data = np.ones([10])
    result = native_and_python(My1DKernel, [one, StencilGrid([10])])
    assert result[4] == 2.0 and result[0] == 0.0


def test_interior_then_border_then_interior_loops_and_several_input_grids():
    # The original README's kernel of several loops, with two input grids ahead of the output.
    class Loops(StencilKernel):
        def kernel(self, a, b, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = 1
            for x in out_grid.border_points():
                out_grid[x] = a[x] - b[x]
            for x in out_grid.interior_points():
                out_grid[x] = out_grid[x] + weight * a[x] * b[x]

    va, vb = RNG.random((8, 9)), RNG.random((8, 9))

    def make():
        k = Loops()
        k.constants = {"weight": 2.0}
        return k

    result = native_and_python(make, [grid_of(va), grid_of(vb), grid_of(np.zeros_like(va))])
    expected = va - vb
    expected[1:-1, 1:-1] = 1.0 + 2.0 * va[1:-1, 1:-1] * vb[1:-1, 1:-1]
    assert_bitwise(result, expected)


# ---- the original StencilKernel's constructor and attributes ----------------------------------


def test_the_original_constructor_and_attributes():
    kernel = BareHeat(with_cilk=False)
    assert kernel.pure_python is False and kernel.with_cilk is False
    assert (kernel.should_unroll, kernel.should_cacheblock, kernel.block_size) == (True, False, 1)
    assert BareHeat(pure_python=True).pure_python is True
    with pytest.raises(TypeError, match="must define a method kernel"):
        StencilKernel()


def test_pure_python_kernel_runs_the_method_as_python():
    values = RNG.random((10, 12))
    kernel = bare_heat({"alpha": 0.1, "beta": 0.6})()
    a, native_out, python_out = grid_of(values), grid_of(np.zeros_like(values)), grid_of(np.zeros_like(values))
    kernel.kernel(a, native_out)
    assert kernel.last_call.backend is not None
    kernel.pure_python_kernel(a, python_out)
    assert_bitwise(python_out.data, native_out.data)
    assert_bitwise(python_out.data, four_neighbour_reference(values, 0.6, 0.1))


@pytest.mark.parametrize("arguments, match", [
    ({"with_cilk": True}, r"no Cilk Plus code.*write BareHeat\(\)"),
    ({"backend": "ocl"}, r"backend='ocl'.*write BareHeat\(\) and set ASP_BACKEND"),
])
def test_constructor_choices_asp_makes_itself_are_refused_with_what_to_write(arguments, match):
    with pytest.raises(ValueError, match=match):
        BareHeat(**arguments)


def test_the_successors_stencil_methods_say_what_to_write():
    class CtreeStyle(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in self.interior_points(out_grid):
                out_grid[x] = in_grid[x]

    kernel = CtreeStyle()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asp.FallbackWarning)
        with pytest.raises(TypeError, match=r"successor's Stencil class.*grid.interior_points\(\)"):
            kernel.kernel(*small_grids())
    with pytest.raises(TypeError, match=r"grid.neighbors\(x, k\)"):
        kernel.neighbors((1, 1), 1)


def test_a_float_index_says_to_convert_it():
    class FloatIndex(StencilKernel):  # the original README's in_grid_2[in_grid[y]] on a float grid
        def kernel(self, in_grid, lookup, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = lookup[in_grid[x]]

    kernel = FloatIndex()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", asp.FallbackWarning)
        with pytest.raises(IndexError, match=r"indexed with the float .*write grid\[int\(\.\.\.\)\]"):
            kernel.kernel(StencilGrid([4, 4]), StencilGrid([3]), StencilGrid([4, 4]))


# ---- the original StencilGrid ---------------------------------------------------------------


def test_the_original_grid_attributes():
    grid = StencilGrid([10, 10])  # the original's tests/stencil_grid_test.py
    assert grid.dim == 2 and grid.data.shape == (10, 10)
    assert grid.interior == [8, 8] and grid.grid_variables == ["DIM0", "DIM1"]
    assert grid.neighbor_definition[0] == [(0, 0)] and len(grid.neighbor_definition[1]) == 4
    assert len(StencilGrid([5, 5, 5]).neighbor_definition[1]) == 6
    assert len(StencilGrid([10]).neighbor_definition[1]) == 2
    assert len(list(StencilGrid([10]).interior_points())) == 8
    assert len(list(grid.neighbors([1, 1], 1))) == 4
    grid.ghost_depth = 2
    grid.set_interior()
    assert grid.interior == [6, 6]
    grid.neighbor_definition[1].append((2, 2))
    grid.set_default_neighbor_definition()
    assert grid.neighbor_definition == StencilGrid([10, 10]).neighbor_definition
    assert str(grid) == repr(grid.data)  # print(grid) prints the array, as the original's did


def test_the_successors_grid_constructor_and_neighbourhoods():
    array = RNG.random((4, 5))
    grid = StencilGrid([4, 5], data=array, neighbors=[[(0, 0)], [(1, 1)]])
    assert grid.data is array and grid.neighbor_definition == [[(0, 0)], [(1, 1)]]
    with pytest.raises(ValueError, match="does not match"):
        StencilGrid([4, 4], data=array)
    assert grid.von_neuman_neighborhood() == [(-1, 0), (1, 0), (0, -1), (0, 1)]
    assert len(grid.moore_neighborhood()) == 8 and len(grid.moore_neighborhood(include_origin=True)) == 9
    grid.set_neighborhood(3, [(0, 1)])
    assert grid.neighbor_definition[2] == [] and grid.neighbor_definition[3] == [(0, 1)]
    with pytest.raises(ValueError, match="3 entries; this grid has 2 axes"):
        grid.set_neighborhood(1, [(0, 0, 1)])


@pytest.mark.parametrize("shape, ghost", [((6, 7), 1), ((8, 9), 2), ((5, 5, 6), 1)])
def test_corner_and_edge_points_split_the_border(shape, ghost):
    grid = StencilGrid(list(shape))
    grid.ghost_depth = ghost
    border = list(grid.border_points())
    corners, edges = list(grid.corner_points()), list(grid.edge_points())
    assert sorted(corners + edges) == border and not set(corners) & set(edges)
    assert len(corners) == (2 * ghost) ** len(shape)
    assert list(grid.boundary_points()) == border


def test_the_von_neumann_neighbourhood_in_a_kernel():
    values = RNG.random((9, 8))
    a = grid_of(values)
    a.set_neighborhood(1, a.von_neuman_neighborhood())

    def make():
        k = BareHeat()
        k.constants = {"alpha": 1.0, "beta": -4.0}
        return k

    result = native_and_python(make, [a, grid_of(np.zeros_like(values))])
    expected = np.zeros_like(values)
    inner = values[1:-1, 1:-1] * -4.0
    for shifted in (values[:-2, 1:-1], values[2:, 1:-1], values[1:-1, :-2], values[1:-1, 2:]):
        inner = inner + 1.0 * shifted
    expected[1:-1, 1:-1] = inner
    assert_bitwise(result, expected)
