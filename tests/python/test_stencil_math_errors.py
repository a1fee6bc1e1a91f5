"""Python's errors, not NaN (issue 13, item 4): where the Python kernel raises
(math.sqrt or math.log of a negative number, math.log(0), math.exp
overflowing, int() or math.floor of nan or infinity, a nan stored into an
integer grid), the specialized kernel raises the same exception with Python's
message and the kernel's source line; where the math is fine (a nan that
comes from the input included, which Python propagates) it is bitwise equal
to Python (within a few ulp for exp, log and sin on a device, as everywhere).

The tests run on the backend this process uses (ASP_TEST_BACKEND, else the
best one here); run without ASP_TEST_BACKEND, the last test runs this file
again with pthreads and with OpenCL (PoCL on the CPU), so each exception is
checked on openmp, pthreads and opencl.
"""
import inspect
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from asp.stencil import StencilGrid, StencilKernel


class Sqrt(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = math.sqrt(a[x]) + 1.0  # raises


class Log(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = 2.0 * math.log(a[x])  # raises


class Exp(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = math.exp(a[x] * 100.0)  # raises


class Sin(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = math.sin(a[x])  # raises


class ToInt(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = int(a[x] * 2.0)  # raises


class Floor(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = math.floor(a[x]) + 1  # raises


class StoreIntoInt(StencilKernel):
    def kernel(self, a, out):
        for x in out.interior_points():
            out[x] = a[x] - 0.5  # raises


class SqrtInABranch(StencilKernel):
    """Only the points that take the branch compute the square root, as in Python."""

    def kernel(self, a, out):
        for x in out.interior_points():
            if a[x] > -10.0:
                out[x] = math.sqrt(a[x] + 5.0)  # raises
            else:
                out[x] = a[x]


class TwoSites(StencilKernel):
    """A local on one line, the math on another: the message names the failing one."""

    def kernel(self, a, out):
        for x in out.interior_points():
            v = math.log(a[x] + 10.0)
            for y in a.neighbors(x, 1):
                v = v + math.sqrt(a[y])  # raises
            out[x] = v


def line_of(kernel_class):
    """The line of `kernel_class`'s source marked '# raises'."""
    lines, first = inspect.getsourcelines(kernel_class)
    return first + next(k for k, text in enumerate(lines) if text.rstrip().endswith("# raises"))


INT = np.int64
# kernel, output dtype, the bad value at one point (the others are fine), Python's exception, its message
CASES = [
    (Sqrt, np.float64, -1.0, ValueError, "math domain error"),
    (Sqrt, np.float64, -math.inf, ValueError, "math domain error"),
    (Log, np.float64, -2.0, ValueError, "math domain error"),
    (Log, np.float64, 0.0, ValueError, "math domain error"),
    (Log, np.float64, -0.0, ValueError, "math domain error"),
    (Exp, np.float64, 8.0, OverflowError, "math range error"),
    (Sin, np.float64, math.inf, ValueError, "math domain error"),
    (ToInt, INT, math.nan, ValueError, "cannot convert float NaN to integer"),
    (ToInt, INT, math.inf, OverflowError, "cannot convert float infinity to integer"),
    (ToInt, INT, -math.inf, OverflowError, "cannot convert float infinity to integer"),
    (Floor, INT, math.nan, ValueError, "cannot convert float NaN to integer"),
    (Floor, INT, math.inf, OverflowError, "cannot convert float infinity to integer"),
    (StoreIntoInt, INT, math.nan, ValueError, "cannot convert float NaN to integer"),
    (SqrtInABranch, np.float64, -7.0, ValueError, "math domain error"),
    (TwoSites, np.float64, -3.0, ValueError, "math domain error"),
]

# Values with which the same kernels compute what Python computes, without raising.
FINE = [
    (Sqrt, np.float64, math.nan), (Sqrt, np.float64, -0.0), (Sqrt, np.float64, math.inf),
    (Log, np.float64, math.nan), (Log, np.float64, math.inf),
    (Exp, np.float64, math.inf), (Exp, np.float64, -math.inf), (Exp, np.float64, -9.0), (Exp, np.float64, math.nan),
    (Sin, np.float64, math.nan), (ToInt, INT, 1e10), (Floor, INT, -2.5),
    (SqrtInABranch, np.float64, -20.0), (TwoSites, np.float64, math.nan),
]


# exp, log and sin come from the device's math library on OpenCL and CUDA, within a few
# ulp of Python's (README, "On a device"); everything else is bitwise on every backend.
DEVICE_LIBM = {Log, Exp, Sin, TwoSites}


def assert_same(kernel_class, actual, expected):
    if kernel_class in DEVICE_LIBM and os.environ.get("ASP_TEST_BACKEND") in ("opencl", "cuda"):
        np.testing.assert_allclose(actual, expected, rtol=4e-15, atol=0, equal_nan=True)
    else:
        assert actual.dtype == expected.dtype and actual.tobytes() == expected.tobytes()


def grids(out_dtype, value, shape=(9, 40)):
    data = np.linspace(0.25, 3.0, num=shape[0] * shape[1]).reshape(shape)
    data[4, 17] = value
    return StencilGrid.from_array(data), StencilGrid(list(shape), dtype=out_dtype)


def python_run(kernel_class, out_dtype, value):
    """The pure-Python kernel: its output, or the exception it raised."""
    kernel = kernel_class()
    kernel.pure_python = True
    a, out = grids(out_dtype, value)
    try:
        kernel.kernel(a, out)
    except (ValueError, OverflowError) as e:
        return e
    return out.data


def native_kernel(kernel_class, out_dtype):
    """A kernel object that has run natively once, on fine values, on the backend under test."""
    kernel = kernel_class()
    a, out = grids(out_dtype, 1.5)
    kernel.kernel(a, out)
    assert kernel.last_call.fallback_reason is None and kernel.last_call.backend is not None, kernel.last_call
    assert kernel.last_call.backend == os.environ.get("ASP_TEST_BACKEND", kernel.last_call.backend)
    assert_same(kernel_class, out.data, python_run(kernel_class, out_dtype, 1.5))
    return kernel


@pytest.mark.parametrize("kernel_class, out_dtype, value, error, message", CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_the_kernel_raises_what_python_raises_with_its_line(kernel_class, out_dtype, value, error, message):
    python = python_run(kernel_class, out_dtype, value)
    assert type(python) is error and str(python) == message  # the premise: this is what Python does
    kernel = native_kernel(kernel_class, out_dtype)
    a, out = grids(out_dtype, value)
    with pytest.raises(error) as raised:
        kernel.kernel(a, out)
    assert type(raised.value) is error
    text = str(raised.value)
    assert text.startswith(message + " (kernel line "), text
    assert f"kernel line {line_of(kernel_class)}: " in text, text
    # The same kernel object still runs natively, and right, afterwards.
    a, out = grids(out_dtype, 2.0)
    kernel.kernel(a, out)
    assert kernel.last_call.backend is not None
    assert_same(kernel_class, out.data, python_run(kernel_class, out_dtype, 2.0))


@pytest.mark.parametrize("kernel_class, out_dtype, value", FINE, ids=[f"{c[0].__name__}-{c[2]}" for c in FINE])
def test_fine_math_is_bitwise_equal_to_python(kernel_class, out_dtype, value):
    expected = python_run(kernel_class, out_dtype, value)
    assert isinstance(expected, np.ndarray), expected
    kernel = native_kernel(kernel_class, out_dtype)
    a, out = grids(out_dtype, value)
    kernel.kernel(a, out)
    assert kernel.last_call.backend is not None and kernel.last_call.fallback_reason is None
    assert_same(kernel_class, out.data, expected)


def test_a_float32_grid_raises_too():
    a = StencilGrid.from_array(np.array([[1.0, 4.0, 9.0], [1.0, -4.0, 9.0], [1.0, 4.0, 9.0]], dtype=np.float32))
    out = StencilGrid([3, 3], dtype=np.float32)
    with pytest.raises(ValueError, match=r"^math domain error \(kernel line \d+: math.sqrt\(\.\.\.\)\)$"):
        Sqrt().kernel(a, out)


@pytest.mark.skipif(bool(os.environ.get("ASP_TEST_BACKEND")), reason="runs only once, without ASP_TEST_BACKEND")
@pytest.mark.parametrize("backend", ["pthreads", "opencl"])
def test_the_same_on_the_other_backends(backend):
    env = dict(os.environ, ASP_TEST_BACKEND=backend)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
                            env=env, capture_output=True, text=True, timeout=600,
                            cwd=pathlib.Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
