"""Stencil grids on a device backend: values stay in device memory between
kernel calls and come back when Python reads them.

These tests need a device backend forced: scripts/test runs them with
ASP_TEST_BACKEND=opencl (PoCL on the CPU); without one they are skipped.
"""
import math
import os

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
