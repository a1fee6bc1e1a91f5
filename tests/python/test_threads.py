"""Several Python threads calling one specialized object at once (issue 15, point 5).

Each thread has its own arrays, large enough that the native calls (which
release the GIL) overlap; every result must equal, bitwise, what the kernel
computes as Python. scripts/test runs this module with the default backend
(openmp), then with ASP_TEST_BACKEND=pthreads and =opencl.
"""
import os
import threading
import warnings

import numpy as np
import pytest

from asp.stencil import StencilGrid, StencilKernel

BACKEND = os.environ.get("ASP_TEST_BACKEND", "openmp")
THREADS, CALLS = 4, 12


class Laplacian3D(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -6 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


def run_threads(work):
    """Runs work(t) on THREADS threads released together; returns what they raised."""
    start = threading.Barrier(THREADS)
    errors = []

    def body(t):
        try:
            start.wait()
            work(t)
        except BaseException as error:  # noqa: B036 (reported by the test)
            errors.append((t, error))

    pool = [threading.Thread(target=body, args=(t,)) for t in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def test_threads_sharing_one_stencil_kernel_get_python_s_results():
    shape = (40, 40, 40)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape) for _ in range(THREADS)]
    reference = Laplacian3D()
    reference.pure_python = True
    expected = []
    for values in inputs[:2]:  # Python is slow at 40³: two references, each used by two threads
        out = StencilGrid(shape)
        reference.kernel(StencilGrid.from_array(values.copy()), out)
        expected.append(out.data.copy())
    kernel = Laplacian3D()
    mismatches = []

    def work(t):
        a, b = StencilGrid.from_array(inputs[t % 2].copy()), StencilGrid(shape)
        for _ in range(CALLS):
            kernel.kernel(a, b)
            if b.data.tobytes() != expected[t % 2].tobytes():
                mismatches.append(t)

    assert run_threads(work) == []
    assert not mismatches
    assert kernel.last_call.backend == BACKEND, kernel.last_call


def test_threads_fitting_gaussian_mixtures_at_once_get_a_single_thread_s_results():
    gmm = pytest.importorskip("asp.gmm")
    rng = np.random.default_rng(1)
    data = [rng.normal(0, 1, (4000, 5)) + rng.integers(0, 3, (4000, 1)) * 4.0 for _ in range(2)]
    options = dict(n_components=3, covariance_type="full", random_state=0, tol=1e-8, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = [gmm.GaussianMixture(**options).fit(X) for X in data]
    results = [None] * THREADS

    def work(t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(3):
                results[t] = gmm.GaussianMixture(**options).fit(data[t % 2])

    assert run_threads(work) == []
    # The tuner may run another variant (block size) in a thread than alone: sums in another order, equal to ~1e-14.
    for t, model in enumerate(results):
        assert model.last_call.backend == BACKEND, model.last_call
        assert model.n_iter_ == alone[t % 2].n_iter_
        np.testing.assert_allclose(model.means_, alone[t % 2].means_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(model.covariances_, alone[t % 2].covariances_, rtol=1e-12, atol=1e-12)
