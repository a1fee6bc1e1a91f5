"""The stencil specializer end to end: the original Asp stencil tests, rewritten.

Every specialized result is compared with the pure-Python run of the same
kernel (bitwise for float64) and every test asserts that native code ran.
"""
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import asp
from asp.stencil import StencilGrid, StencilKernel, distance

SPACING = 0.01  # a module global: its value is part of the specialization key


def copy_grid(grid):
    other = StencilGrid.from_array(grid.data.copy())
    other.ghost_depth = grid.ghost_depth
    other.neighbor_definition = [list(s) for s in grid.neighbor_definition]
    return other


def run_both(kernel_class, *grids, output=-1, **attributes):
    """Runs the kernel specialized and as Python on copies; returns both outputs and the kernel."""
    native, python = kernel_class(), kernel_class()
    for k in (native, python):
        for name, value in attributes.items():
            setattr(k, name, value)
    python.pure_python = True
    native_grids = [copy_grid(g) for g in grids]
    python_grids = [copy_grid(g) for g in grids]
    native.kernel(*native_grids)
    python.kernel(*python_grids)
    assert native.last_call.backend is not None, native.last_call
    assert native.last_call.backend == os.environ.get("ASP_TEST_BACKEND", native.last_call.backend)
    assert native.last_call.fallback_reason is None
    assert python.last_call.backend is None
    return native_grids[output].data, python_grids[output].data, native


def assert_bitwise(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), f"max difference {np.max(np.abs(a - b))}"


# ---- grids ------------------------------------------------------------------------


def test_a_grid_starts_at_zero_with_its_shape_and_dimension():
    grid = StencilGrid([5, 7])
    assert grid.shape == (5, 7) and grid.dim == 2
    assert grid.data.dtype == np.float64 and not grid.data.any()
    assert grid.ghost_depth == 1
    assert StencilGrid([3], dtype=np.int32).data.dtype == np.int32


def test_from_array_wraps_without_copying():
    array = np.arange(12.0).reshape(3, 4)
    grid = StencilGrid.from_array(array)
    assert np.shares_memory(grid.data, array)
    grid[(1, 1)] = 99.0
    assert array[1, 1] == 99.0
    grid.data = np.ones((2, 2))
    assert grid.shape == (2, 2)
    with pytest.raises(TypeError):
        grid.data = [1, 2]


@pytest.mark.parametrize("shape, count, first, last", [
    ((10,), 8, (1,), (8,)),
    ((5, 6), 12, (1, 1), (3, 4)),
    ((4, 5, 6), 24, (1, 1, 1), (2, 3, 4)),
])
def test_interior_points(shape, count, first, last):
    points = list(StencilGrid(shape).interior_points())
    assert len(points) == count and points[0] == first and points[-1] == last


def test_border_points_are_those_within_the_ghost_depth_of_an_edge():
    grid = StencilGrid([6, 7])
    grid.ghost_depth = 2
    border = list(grid.border_points())
    interior = set(grid.interior_points())
    assert len(border) + len(interior) == 6 * 7
    assert not interior.intersection(border)
    assert all(min(i, 5 - i) < 2 or min(j, 6 - j) < 2 for i, j in border)


def test_default_neighbours_are_the_centre_and_one_step_along_each_axis():
    grid = StencilGrid([5, 5, 5])
    assert list(grid.neighbors((2, 2, 2), 0)) == [(2, 2, 2)]
    assert sorted(grid.neighbors((2, 2, 2), 1)) == sorted(
        [(3, 2, 2), (1, 2, 2), (2, 3, 2), (2, 1, 2), (2, 2, 3), (2, 2, 1)])


def test_distance_is_euclidean():
    assert distance((0, 0), (3, 4)) == 5.0
    assert distance((1, 1, 1), (1, 1, 1)) == 0.0


def test_a_kernel_class_without_kernel_cannot_be_constructed():
    class Empty(StencilKernel):
        pass

    with pytest.raises(TypeError, match="must define a method kernel"):
        Empty()


# ---- kernels from the Asp tests ------------------------------------------------------


class FourNeighbourSum(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def test_2d_four_neighbour_sum_of_ones_is_four():
    in_grid = StencilGrid([10, 12])
    in_grid.data[:] = 1.0
    native, python, kernel = run_both(FourNeighbourSum, in_grid, StencilGrid([10, 12]))
    assert_bitwise(native, python)
    assert (native[1:-1, 1:-1] == 4.0).all()
    assert (native[0, :] == 0.0).all()


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


def test_1d_fourth_order_derivative_of_sin_is_cos():
    n = 200
    xs = np.arange(n) * SPACING
    in_grid = StencilGrid.from_array(np.sin(xs))
    in_grid.ghost_depth = 2
    in_grid.neighbor_definition = [[(0,)], [(-2,)], [(-1,)], [(1,)], [(2,)]]
    out_grid = StencilGrid([n])
    out_grid.ghost_depth = 2
    native, python, _ = run_both(FourthOrderDerivative, in_grid, out_grid)
    assert_bitwise(native, python)
    assert np.allclose(native[2:-2], np.cos(xs[2:-2]), atol=1e-8)


class Laplacian2D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def test_2d_laplacian_of_a_cubic_is_linear():
    n = 20
    i, j = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64), indexing="ij")
    native, python, _ = run_both(Laplacian2D, StencilGrid.from_array(i ** 3 + j ** 3), StencilGrid([n, n]))
    assert_bitwise(native, python)
    assert np.array_equal(native[1:-1, 1:-1], (6 * i + 6 * j)[1:-1, 1:-1])


class Bilateral(StencilKernel):
    def kernel(self, in_img, filter_d, filter_s, out_img):
        for x in out_img.interior_points():
            for y in in_img.neighbors(x, 1):
                out_img[x] += in_img[y] * filter_d[int(distance(x, y))] * filter_s[abs(int(in_img[x] - in_img[y]))]


def bilateral_grids(n, radius=3, seed=0):
    rng = np.random.default_rng(seed)
    in_img = StencilGrid.from_array(rng.uniform(0, 255, (n, n, n)))
    in_img.ghost_depth = radius
    in_img.neighbor_definition[1] = [
        (a, b, c)
        for a in range(-radius, radius + 1) for b in range(-radius, radius + 1) for c in range(-radius, radius + 1)
        if (a, b, c) != (0, 0, 0)
    ]
    sigma_d, sigma_s = 1.5, 40.0
    filter_d = StencilGrid.from_array(np.array([math.exp(-(d * d) / (2 * sigma_d ** 2)) for d in range(6)]))
    filter_s = StencilGrid.from_array(np.array([math.exp(-(s * s) / (2 * sigma_s ** 2)) for s in range(256)]))
    out_img = StencilGrid([n, n, n])
    out_img.ghost_depth = radius
    return in_img, filter_d, filter_s, out_img


def test_3d_bilateral_filter_with_lookup_grids_and_radius_3():
    native, python, _ = run_both(Bilateral, *bilateral_grids(10))
    assert_bitwise(native, python)
    assert native[3:-3, 3:-3, 3:-3].min() > 0


class DistanceWeighted(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += distance(x, y) * in_grid[y]


def test_the_distance_kernel():
    grid = StencilGrid.from_array(np.random.default_rng(1).random((9, 9)))
    grid.neighbor_definition[1].extend([(1, 1), (-1, -1), (1, -1), (-1, 1)])
    native, python, _ = run_both(DistanceWeighted, grid, StencilGrid([9, 9]))
    assert_bitwise(native, python)


class Life(StencilKernel):
    def kernel(self, in_grid, rules, out_grid):
        for x in out_grid.interior_points():
            alive = 0
            for y in in_grid.neighbors(x, 1):
                alive = alive + in_grid[y]
            out_grid[x] = rules[int(alive + 9 * in_grid[x])]


def test_conways_life_through_an_integer_lookup_table():
    n = 16
    board = StencilGrid.from_array(np.random.default_rng(2).integers(0, 2, (n, n)).astype(np.int64))
    board.neighbor_definition[1] = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    # index = live neighbours + 9 * (cell alive): born with 3, survives with 2 or 3.
    table = np.zeros(18, dtype=np.int64)
    table[3] = 1
    table[9 + 2] = table[9 + 3] = 1
    native, python, _ = run_both(Life, board, StencilGrid.from_array(table), StencilGrid([n, n], dtype=np.int64))
    assert_bitwise(native, python)
    assert native.sum() > 0


class Heat(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += 0.1 * (in_grid[y] - in_grid[x])


def test_2d_heat_kernel():
    grid = StencilGrid.from_array(np.random.default_rng(3).random((33, 17)))
    native, python, _ = run_both(Heat, grid, StencilGrid([33, 17]))
    assert_bitwise(native, python)


class ConstantLaplacian(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = self.constants["centre"] * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] += self.constants["edge"] * in_grid[y]


def test_laplacian_with_self_constants():
    grid = StencilGrid.from_array(np.random.default_rng(4).random((8, 8, 8)))
    native, python, kernel = run_both(ConstantLaplacian, grid, StencilGrid([8, 8, 8]),
                                      constants={"centre": -6.0, "edge": 1.0})
    assert_bitwise(native, python)
    # A different value is a different specialization, not a stale one.
    kernel.constants = {"centre": -5.0, "edge": 0.5}
    out = StencilGrid([8, 8, 8])
    kernel.kernel(grid, out)
    assert kernel.last_call.backend is not None
    expected = StencilGrid([8, 8, 8])
    reference = ConstantLaplacian()
    reference.pure_python = True
    reference.constants = dict(kernel.constants)
    reference.kernel(copy_grid(grid), expected)
    assert_bitwise(out.data, expected.data)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_other_dtypes(dtype):
    grid = StencilGrid.from_array((np.arange(64) % 7).reshape(8, 8).astype(dtype))
    native, python, _ = run_both(FourNeighbourSum, grid, StencilGrid([8, 8], dtype=dtype))
    assert np.array_equal(native, python)


def test_1_to_4_dimensions():
    for shape in [(9,), (6, 7), (5, 6, 7), (4, 5, 4, 5)]:
        grid = StencilGrid.from_array(np.random.default_rng(5).random(shape))
        native, python, _ = run_both(FourNeighbourSum, grid, StencilGrid(shape))
        assert_bitwise(native, python)


def test_border_points_loops():
    class Border(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.border_points():
                out_grid[x] = 2.0 * in_grid[x] + 1.0

    grid = StencilGrid.from_array(np.random.default_rng(6).random((7, 8)))
    native, python, _ = run_both(Border, grid, StencilGrid([7, 8]))
    assert_bitwise(native, python)


class InteriorAndBorder(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]
        for x in out_grid.border_points():
            out_grid[x] = 2.0 * in_grid[x]


@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (0, 0, 3), (3, 0, 4)])
def test_an_empty_grid_runs_natively_and_does_nothing_as_in_python(shape):
    native, python, _ = run_both(InteriorAndBorder, StencilGrid(list(shape)), StencilGrid(list(shape)))
    assert native.shape == shape
    assert_bitwise(native, python)


# ---- fallback and errors -----------------------------------------------------------


class WithWhile(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            k = 0
            while k < 2:
                out_grid[x] += in_grid[x]
                k += 1


def test_an_unsupported_construct_falls_back_with_a_warning_naming_it():
    grid = StencilGrid.from_array(np.random.default_rng(7).random((5, 5)))
    out = StencilGrid([5, 5])
    kernel = WithWhile()
    with pytest.warns(asp.FallbackWarning, match=r"while.*line \d+"):
        kernel.kernel(grid, out)
    assert kernel.last_call.backend is None
    assert "while" in kernel.last_call.fallback_reason
    assert np.array_equal(out.data[1:-1, 1:-1], 2 * grid.data[1:-1, 1:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per reason, not on every call
        kernel.kernel(grid, StencilGrid([5, 5]))


def test_wrong_argument_count_and_types_are_type_errors():
    kernel = FourNeighbourSum()
    with pytest.raises(TypeError, match="takes 2 grid"):
        kernel.kernel(StencilGrid([4, 4]))
    with pytest.raises(TypeError, match="argument 'out_grid' must be a StencilGrid"):
        kernel.kernel(StencilGrid([4, 4]), np.zeros((4, 4)))


def test_mismatched_shapes_are_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="out_grid|in_grid"):
        FourNeighbourSum().kernel(StencilGrid([6, 6]), StencilGrid([6, 7]))


def test_a_neighbour_outside_the_ghost_zone_is_a_value_error_before_running():
    grid = StencilGrid([6, 6])
    grid.neighbor_definition[1].append((2, 0))
    out = StencilGrid([6, 6])
    out.data[:] = 5.0
    with pytest.raises(ValueError, match="in_grid"):
        FourNeighbourSum().kernel(grid, out)
    assert (out.data == 5.0).all()  # nothing ran


def test_a_data_dependent_read_out_of_range_raises_index_error(monkeypatch):
    # Strict: a fallback would raise SpecializationError, not Python's own IndexError.
    monkeypatch.setenv("ASP_STRICT", "1")

    class Lookup(StencilKernel):
        def kernel(self, in_grid, table, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = table[int(in_grid[x])]

    grid = StencilGrid.from_array(np.full((5, 5), 2.0))
    table = StencilGrid.from_array(10.0 * np.arange(3.0))
    out = StencilGrid([5, 5])
    kernel = Lookup()
    kernel.kernel(grid, table, out)
    assert kernel.last_call.backend is not None and kernel.last_call.fallback_reason is None, kernel.last_call
    assert (out.data[1:-1, 1:-1] == 20.0).all() and (out.data[0] == 0.0).all()
    grid.data[2, 3] = 3.0  # one past the end of the table; the same signature, so the same native code
    with pytest.raises(IndexError, match="index out of bounds reading 'table'"):  # the native fault's message
        kernel.kernel(grid, table, out)


def test_aliased_grids_run_as_python_with_the_reason():
    grid = StencilGrid.from_array(np.random.default_rng(8).random((6, 6)))
    kernel = FourNeighbourSum()
    expected = copy_grid(grid)
    reference = FourNeighbourSum()
    reference.pure_python = True
    reference.kernel(expected, expected)
    with pytest.warns(asp.FallbackWarning, match="share memory"):
        kernel.kernel(grid, grid)
    assert kernel.last_call.backend is None
    assert_bitwise(grid.data, expected.data)


def four_neighbour_sum_reference(a):
    """FourNeighbourSum in NumPy, in the kernel's order of additions: bitwise what Python computes."""
    out = np.zeros_like(a)
    out[1:-1, 1:-1] = 0.0 + a[2:, 1:-1] + a[:-2, 1:-1] + a[1:-1, 2:] + a[1:-1, :-2]
    return out


def test_pure_python_and_asp_disable_run_python(monkeypatch):
    values = np.random.default_rng(9).random((6, 7))
    kernel = FourNeighbourSum()
    kernel.pure_python = True
    out = StencilGrid([6, 7])
    kernel.kernel(StencilGrid.from_array(values.copy()), out)
    assert kernel.last_call.backend is None and kernel.last_call.fallback_reason == "pure_python is set"
    assert_bitwise(out.data, four_neighbour_sum_reference(values))

    monkeypatch.setenv("ASP_DISABLE", "1")  # read at each call
    kernel = FourNeighbourSum()
    out = StencilGrid([6, 7])
    kernel.kernel(StencilGrid.from_array(values.copy()), out)
    assert kernel.last_call.backend is None and kernel.last_call.fallback_reason == "ASP_DISABLE is set"
    assert_bitwise(out.data, four_neighbour_sum_reference(values))
    assert not kernel._specialized  # nothing was specialized


def run_python(code, env=None, cwd=None):
    """Runs code in a new interpreter with this environment plus `env` (a value of None removes the variable)."""
    merged = dict(os.environ, **(env or {}))
    merged = {name: value for name, value in merged.items() if value is not None}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=merged, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


PROGRAM_HEADER = """
    import numpy as np, sys, warnings
    sys.path.insert(0, {tests!r})
    from test_stencil import *
"""


def test_asp_strict_turns_fallback_into_an_error(tmp_path):
    result = run_python(PROGRAM_HEADER.format(tests=os.path.dirname(__file__)) + """
    out = StencilGrid([5, 5])
    try:
        WithWhile().kernel(StencilGrid.from_array(np.ones((5, 5))), out)
    except asp.SpecializationError as error:
        print("SpecializationError:", error)
    print("out", out.data.sum())
    """, env={"ASP_STRICT": "1", "ASP_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SpecializationError: WithWhile.kernel: ") and "while" in lines[0], result.stdout
    assert lines[1] == "out 0.0"  # Python did not run either


def test_asp_disable_runs_python_everywhere(tmp_path):
    result = run_python(PROGRAM_HEADER.format(tests=os.path.dirname(__file__)) + """
    values = np.random.default_rng(10).random((5, 6))
    k = FourNeighbourSum()
    out = StencilGrid([5, 6])
    k.kernel(StencilGrid.from_array(values.copy()), out)
    print(k.last_call)
    print(out.data.tobytes() == four_neighbour_sum_reference(values).tobytes())
    """, env={"ASP_DISABLE": "1", "ASP_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    last_call, equal = result.stdout.splitlines()[:2]
    assert last_call == "LastCall(backend=None, variant=None, fallback_reason='ASP_DISABLE is set')", last_call
    assert equal == "True"


NO_BACKEND = "".join(f"  {name}:\n    enabled: false\n" for name in ("openmp", "pthreads", "opencl", "cuda"))


@pytest.mark.parametrize("backends, forced, reason", [
    (NO_BACKEND, None, "no backend can run kernel kernel: no backend is available"),
    ("  pthreads:\n    enabled: false\n", "pthreads",
     "no backend can run kernel kernel: backend 'pthreads' (environment variable ASP_BACKEND) is unavailable: disabled in config"),
    ("", "nosuch", "no backend can run kernel kernel: backend 'nosuch' (environment variable ASP_BACKEND) is not configured"),
])
def test_without_a_usable_backend_python_runs_after_a_warning_with_the_registry_s_reason(tmp_path, backends, forced,
                                                                                           reason):
    config = tmp_path / "backends.yaml"
    config.write_text("backends:\n" + backends if backends else "{}\n")
    program = PROGRAM_HEADER.format(tests=os.path.dirname(__file__)) + """
    warnings.simplefilter("always")
    values = np.random.default_rng(11).random((5, 6))
    out = StencilGrid([5, 6])
    k = FourNeighbourSum()
    try:
        with warnings.catch_warnings(record=True) as caught:
            k.kernel(StencilGrid.from_array(values.copy()), out)
    except asp.SpecializationError as error:
        print("SpecializationError:", error)
        sys.exit(0)
    print(k.last_call.backend, out.data.tobytes() == four_neighbour_sum_reference(values).tobytes())
    warned = [str(w.message) for w in caught if w.category is asp.FallbackWarning]
    print(len(warned), warned[0] if warned else "")
    """
    env = {"ASP_CONFIG": str(config), "ASP_CACHE_DIR": str(tmp_path / "cache"), "ASP_BACKEND": forced}
    result = run_python(program, env=env)
    assert result.returncode == 0, result.stderr
    ran, warned = result.stdout.splitlines()[:2]
    assert ran == "None True"  # Python ran, correctly
    assert warned.startswith(f"1 FourNeighbourSum.kernel runs as Python: {reason}"), warned

    result = run_python(program, env=dict(env, ASP_STRICT="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"SpecializationError: FourNeighbourSum.kernel: {reason}"), result.stdout


def test_a_kernel_that_fails_to_compile_falls_back_with_the_compiler_s_reason(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("backends:\n"
                      "  openmp:\n    jit: system\n    flags: [-shared, -fPIC, -fno-such-flag-anywhere]\n"
                      "  pthreads:\n    jit: system\n    flags: [-shared, -fPIC, -fno-such-flag-anywhere]\n"
                      "  opencl:\n    enabled: false\n  cuda:\n    enabled: false\n")
    result = run_python(PROGRAM_HEADER.format(tests=os.path.dirname(__file__)) + """
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        k = FourNeighbourSum()
        grid = StencilGrid.from_array(np.ones((5, 5)))
        out = StencilGrid([5, 5])
        k.kernel(grid, out)
    print(k.last_call.backend, out.data[2, 2])
    print(caught[0].message)
    """, env={"ASP_CONFIG": str(broken), "ASP_CACHE_DIR": str(tmp_path / "cache"), "ASP_BACKEND": None})
    assert result.returncode == 0, result.stderr
    first, message = result.stdout.splitlines()[:2]
    assert first == "None 4.0"  # Python ran, correctly
    assert "did not compile" in message and "no-such-flag-anywhere" in message


def test_a_second_process_hits_the_cache_and_starts_on_the_best_variant(tmp_path):
    program = PROGRAM_HEADER.format(tests=os.path.dirname(__file__)) + """
    from asp import _core
    k = Laplacian2D()
    grid = StencilGrid.from_array(np.random.default_rng(0).random((66, 66)))
    k.kernel(grid, StencilGrid([66, 66]))
    spec = next(iter(k._specialized.values()))
    # Explore (each variant tried, round robin) and settle, unless told to call once.
    calls = 1 if len(sys.argv) > 1 else _core.tuner_runs_per_variant * len(spec.variants) + 1
    for _ in range(calls - 1):
        k.kernel(grid, StencilGrid([66, 66]))
    print(k.last_call.variant, spec.cache_hit)
    """
    env = {"ASP_CACHE_DIR": str(tmp_path)}
    first = run_python(program, env=env)
    assert first.returncode == 0, first.stderr
    best, first_hit = first.stdout.split()
    assert first_hit == "False"
    second = run_python(program.replace("len(sys.argv) > 1", "True"), env=env)
    assert second.returncode == 0, second.stderr
    variant, second_hit = second.stdout.split()
    assert second_hit == "True"
    assert variant == best


class DedentedContinuation(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = (in_grid[x] +
1.5)  # noqa: E128 (a continuation line left of the method: its end is found by the tokenizer)


def test_a_definition_with_a_dedented_continuation_line_still_specializes():
    grid = StencilGrid.from_array(np.random.default_rng(3).random((5, 6)))
    native, python, _ = run_both(DedentedContinuation, grid, StencilGrid([5, 6]))
    assert_bitwise(native, python)
