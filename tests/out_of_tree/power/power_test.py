"""Runs the out-of-tree power-iteration program on the backend ASP_BACKEND names and checks it against NumPy."""
import os
import sys

import numpy as np

import asp


def power(A, x, lam, tol, max_iter):
    """Power iteration; the plugin 'power' specializes it (its body is the plugin's program)."""


def numpy_power(A, x, tol, max_iter):
    previous = 0.0
    for _ in range(max_iter):
        y = A @ x
        lam = float(np.sqrt(np.sum(y * y)))
        x = y / lam
        if abs(lam - previous) < tol:
            break
        previous = lam
    return x, lam


def main() -> int:
    backend = os.environ["ASP_BACKEND"]
    rng = np.random.default_rng(7)
    n = 64
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.linspace(1.0, 10.0, n)) @ Q.T  # symmetric, eigenvalues 1..10
    x0 = np.ones(n) / np.sqrt(n)
    tol, max_iter = 1e-12, 10_000
    expected_x, expected_lam = numpy_power(A, x0.copy(), tol, max_iter)
    spec = asp.specialize("power", power, {"A": A, "x": x0, "lam": np.zeros(1), "tol": tol, "max_iter": max_iter})
    assert spec.backend == backend, (spec.backend, backend)
    assert "matvec_rows" in spec.variants[0], spec.variants  # generated (a backend may tile it into several)
    assert any(v.startswith("normalize_c") for v in spec.variants), spec.variants  # hand-written
    for call in range(6):  # the tuner tries every runnable variant, then keeps the fastest
        x, lam = x0.copy(), np.zeros(1)
        spec(A, x, lam, tol, max_iter)
        np.testing.assert_allclose(lam[0], expected_lam, rtol=1e-12)
        np.testing.assert_allclose(x, expected_x, rtol=1e-9, atol=1e-12)
    assert abs(lam[0] - 10.0) < 1e-6, lam
    # A launch's buffers are checked against the extents its kernel takes; wrong arguments never reach native code.
    try:
        spec(A, np.ones(n + 1), lam, tol, max_iter)
    except ValueError as error:
        print("rejected:", error)
    else:
        raise AssertionError("a vector of the wrong size was accepted")
    print(f"power iteration on {backend}: lam = {lam[0]:.15f} (NumPy {expected_lam:.15f}); variants {spec.variants}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
