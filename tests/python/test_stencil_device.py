"""Stencil grids on a device backend: values stay in device memory between
kernel calls and come back when Python reads them.

These tests need a device backend forced: scripts/test runs them with
ASP_TEST_BACKEND=opencl (PoCL on the CPU); without one they are skipped.
"""
import math
import os
import re

import numpy as np
import pytest

from asp.stencil import StencilGrid, StencilKernel

DEVICE = os.environ.get("ASP_TEST_BACKEND")
pytestmark = pytest.mark.skipif(DEVICE not in ("opencl", "cuda"),
                                reason="needs ASP_TEST_BACKEND=opencl or cuda (scripts/test sets it)")


class Laplacian(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def grids(seed=0, shape=(17, 23)):
    values = np.random.default_rng(seed).standard_normal(shape)
    return StencilGrid.from_array(values.copy()), StencilGrid(shape)


def python_sweeps(values, sweeps):
    """The same sweeps, as Python, on host copies."""
    kernel = Laplacian()
    kernel.pure_python = True
    a, b = StencilGrid.from_array(values.copy()), StencilGrid(values.shape)
    for _ in range(sweeps):
        kernel.kernel(a, b)
        a, b = b, a
    return a.data


def test_results_stay_on_the_device_until_python_reads_them():
    a, b = grids()
    kernel = Laplacian()
    kernel.kernel(a, b)
    assert kernel.last_call.backend == DEVICE
    assert b._resident.device_newer
    assert not b._data.any(), "the host array is not written until it is read"
    assert b.data.tobytes() == python_sweeps(a.data, 1).tobytes()
    assert not b._resident.device_newer


def test_consecutive_sweeps_use_the_device_copies():
    a, b = grids(1)
    start = a.data.copy()
    kernel = Laplacian()
    for _ in range(5):
        kernel.kernel(a, b)
        a, b = b, a
    # Neither grid was read in between: both still hold their starting host values.
    assert a._resident.device_newer
    assert a.data.tobytes() == python_sweeps(start, 5).tobytes()


def test_python_writes_between_calls_reach_the_device():
    a, b = grids(2)
    kernel = Laplacian()
    kernel.kernel(a, b)
    a.data[5, 5] = 1000.0  # reading data hands the array to Python: the next call copies it in
    a[6, 6] = -3.0
    kernel.kernel(a, b)
    assert b.data.tobytes() == python_sweeps(a.data, 1).tobytes()


def test_an_array_read_earlier_sees_new_results_after_sync():
    a, b = grids(3)
    out = b.data
    kernel = Laplacian()
    kernel.kernel(a, b)
    assert not out.any(), "documented: an array obtained before the call is stale"
    b.sync()
    assert out.tobytes() == python_sweeps(a.data, 1).tobytes()


def test_replacing_data_gives_the_old_array_its_results():
    a, b = grids(4)
    old = b._data
    Laplacian().kernel(a, b)
    b.data = np.zeros_like(old)
    assert old.tobytes() == python_sweeps(a.data, 1).tobytes()
    assert not b.data.any()


def test_python_kernels_see_device_results():
    a, b = grids(5)
    c = StencilGrid(a.shape)
    device, python = Laplacian(), Laplacian()
    python.pure_python = True
    device.kernel(a, b)
    python.kernel(b, c)  # reads b through indexing, which brings the device's results back
    expected = python_sweeps(python_sweeps(a.data, 1), 1)
    assert c.data.tobytes() == expected.tobytes()


def test_float32_and_integer_grids_match_python():
    for dtype in (np.float32, np.int64, np.int32):
        values = (np.arange(11 * 13) % 7 - 3).reshape(11, 13).astype(dtype)
        a, b = StencilGrid.from_array(values.copy()), StencilGrid(values.shape, dtype=dtype)
        p, q = StencilGrid.from_array(values.copy()), StencilGrid(values.shape, dtype=dtype)
        device, python = Laplacian(), Laplacian()
        python.pure_python = True
        device.kernel(a, b)
        python.kernel(p, q)
        assert device.last_call.backend == DEVICE
        assert b.data.tobytes() == q.data.tobytes(), dtype


def test_read_only_grids_are_refused_as_on_the_host():
    a, b = grids(6)
    frozen = b.data.copy()
    frozen.flags.writeable = False
    b.data = frozen
    with pytest.raises(ValueError, match="read-only"):
        Laplacian().kernel(a, b)


class Transcendental(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = math.exp(in_grid[x]) + math.log(1.5 + math.sin(in_grid[x])) + math.sqrt(abs(in_grid[x]))


def test_transcendental_functions_are_within_the_documented_ulps():
    """Device libraries round exp, log and sin within a few ulp (OpenCL 1.2: 3 ulp for exp/log, 4 for sin;
    CUDA: 1-2 ulp), not always as glibc does; sqrt and arithmetic are exact. The README documents 4 ulp."""
    values = np.random.default_rng(7).uniform(-3, 3, (16, 16))
    a, b = StencilGrid.from_array(values.copy()), StencilGrid(values.shape)
    p, q = StencilGrid.from_array(values.copy()), StencilGrid(values.shape)
    device, python = Transcendental(), Transcendental()
    python.pure_python = True
    device.kernel(a, b)
    python.kernel(p, q)
    assert device.last_call.backend == DEVICE
    # Each term within 4 ulp of its own magnitude: the sum within 4 ulp of the largest term, at worst.
    terms = np.exp(values) + np.abs(np.log(1.5 + np.sin(values))) + np.sqrt(np.abs(values))
    tolerance = 4 * np.spacing(terms)[1:-1, 1:-1]
    assert np.all(np.abs(b.data - q.data)[1:-1, 1:-1] <= tolerance)


# ---- kernels of several point loops: launches in order ---------------------------------------

MAPPED = re.compile(r"_b\d+x\d+x\d+$")  # a variant whose loops were mapped onto the device grid


class InteriorThenBorder(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]
        for x in out_grid.border_points():
            out_grid[x] = 2 * in_grid[x]


class ThreeLoops(StencilKernel):
    """The last loop reads, at its neighbours, what the first two wrote: it must run after them."""

    def kernel(self, in_grid, out_grid, smooth):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] * 3
        for x in out_grid.border_points():
            out_grid[x] = in_grid[x] - 1
        for x in smooth.interior_points():
            smooth[x] = out_grid[x]
            for y in out_grid.neighbors(x, 1):
                smooth[x] = smooth[x] + out_grid[y]


class InPlaceSweep(StencilKernel):
    """Each point reads neighbours that earlier points wrote: Python's order is observable."""

    def kernel(self, grid):
        for x in grid.interior_points():
            for y in grid.neighbors(x, 1):
                grid[x] = grid[x] + 0.25 * grid[y]


class SweepThenCopy(StencilKernel):
    def kernel(self, grid, out_grid):
        for x in grid.interior_points():
            for y in grid.neighbors(x, 1):
                grid[x] = grid[x] + 0.5 * grid[y]
        for x in out_grid.interior_points():
            out_grid[x] = 2 * grid[x]


def run_both(kernel_class, values, extra_grids, dtype=np.float64):
    """Runs the kernel on the device and as pure Python on copies; returns both grid lists and the device kernel."""
    device, python = kernel_class(), kernel_class()
    python.pure_python = True
    on_device = [StencilGrid.from_array(values.copy())] + [StencilGrid(values.shape, dtype=dtype) for _ in range(extra_grids)]
    in_python = [StencilGrid.from_array(values.copy())] + [StencilGrid(values.shape, dtype=dtype) for _ in range(extra_grids)]
    device.kernel(*on_device)
    python.kernel(*in_python)
    return on_device, in_python, device


@pytest.mark.parametrize("shape", [(17, 23), (3, 40), (2, 2), (9, 8, 7)])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_interior_then_border_runs_as_launches_and_matches_python(shape, dtype):
    values = (np.random.default_rng(8).standard_normal(shape) * 10).astype(dtype)
    on_device, in_python, kernel = run_both(InteriorThenBorder, values, 1, dtype)
    assert kernel.last_call.backend == DEVICE
    assert MAPPED.search(kernel.last_call.variant), kernel.last_call.variant
    for d, p in zip(on_device, in_python):
        assert d.data.tobytes() == p.data.tobytes()


def test_a_loop_sees_what_the_loops_before_it_wrote():
    values = np.random.default_rng(9).standard_normal((33, 65))
    on_device, in_python, kernel = run_both(ThreeLoops, values, 2)
    assert MAPPED.search(kernel.last_call.variant), kernel.last_call.variant
    for d, p in zip(on_device, in_python):
        assert d.data.tobytes() == p.data.tobytes()


@pytest.mark.parametrize("shape", [(13, 11), (6, 5, 4)])
def test_an_in_place_sweep_keeps_pythons_order(shape):
    values = np.random.default_rng(10).standard_normal(shape)
    on_device, in_python, kernel = run_both(InPlaceSweep, values, 0)
    assert kernel.last_call.backend == DEVICE
    # Documented: its points depend on each other, so it runs as one device thread, not mapped.
    assert not MAPPED.search(kernel.last_call.variant), kernel.last_call.variant
    assert on_device[0].data.tobytes() == in_python[0].data.tobytes()


def test_a_sweep_then_a_parallel_loop_run_in_order():
    values = np.random.default_rng(11).standard_normal((20, 31))
    on_device, in_python, kernel = run_both(SweepThenCopy, values, 1)
    assert MAPPED.search(kernel.last_call.variant), "the copy maps; the sweep before it runs as one thread"
    for d, p in zip(on_device, in_python):
        assert d.data.tobytes() == p.data.tobytes()
