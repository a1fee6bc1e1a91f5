"""asp._cg: SciPy's own cg conformance cases (scipy/sparse/linalg/_isolve/tests/test_iterative.py, the
posdef ones), the s-step solver against SciPy's iteration counts and iterates, its fallback to ordinary
CG, leja_shifts, and bad input. Every solver test runs with each operator of the `make_operator` fixture."""
import itertools
import math
import os
import warnings

import numpy as np
import pytest

sparse = pytest.importorskip("scipy.sparse")
sla = pytest.importorskip("scipy.sparse.linalg")

import asp  # noqa: E402
from asp import _cg, akx  # noqa: E402

BACKEND = os.environ.get("ASP_TEST_BACKEND", "openmp")
NATIVE = BACKEND in ("openmp", "pthreads", "opencl")
from asp._errors import FallbackWarning  # noqa: E402


@pytest.fixture(autouse=True)
def _errors_not_fallbacks():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        yield


class CountingOperator:
    """An Operator (SciPy's, or asp.akx's native one) that counts its calls and checks the interface's
    contract on every call; the native one must have run natively."""

    def __init__(self, csr, native=False):
        assert isinstance(csr, sparse.csr_array)
        assert csr.dtype == np.float64 and csr.has_canonical_format
        self._inner = akx._native_operator(4)(csr) if native else _cg.ScipyOperator(csr)
        self._native = native
        self.n = csr.shape[0]
        self.dtype = np.dtype(np.float64)
        self.matvecs = 0
        self.powers_calls = 0
        self.powers_rows = []

    def matvec(self, x, out):
        assert x.ndim == 1 and x.shape == (self.n,) and x.dtype == np.float64 and x.flags.c_contiguous
        assert out.shape == (self.n,) and out.dtype == np.float64 and out.flags.c_contiguous
        self.matvecs += 1
        self._inner.matvec(x, out)
        self._ran_natively()

    def powers(self, V, shifts):
        assert V.ndim == 2 and V.shape[1] == self.n and V.dtype == np.float64 and V.flags.c_contiguous
        assert shifts.shape == (V.shape[0] - 1,) and shifts.dtype == np.float64
        self.powers_calls += 1
        self.powers_rows.append(V.shape[0])
        self._inner.powers(V, shifts)
        self._ran_natively()

    def _ran_natively(self):
        if self._native and NATIVE:
            assert self._inner.last_call.backend == BACKEND, self._inner.last_call


class Factory:
    """make_operator for cg: remembers the operators it made."""

    def __init__(self, native=False):
        self.made = []
        self._native = native

    def __call__(self, csr):
        op = CountingOperator(csr, self._native)
        self.made.append(op)
        return op


@pytest.fixture(params=["scipy", "counting", "native"])
def make_operator(request):
    return None if request.param == "scipy" else Factory(native=request.param == "native")


def solve(A, b, make_operator, **kw):
    return _cg.cg(A, b, make_operator=make_operator, **kw)


# ---- SciPy's posdef cases --------------------------------------------------------------------


def poisson1d(n=40, dtype=np.float64):
    data = np.ones((3, n))
    data[0, :] = 2
    data[1, :] = -1
    data[2, :] = -1
    return sparse.dia_array((data, [0, -1, 1]), shape=(n, n)).tocsr().astype(dtype)


def poisson2d_kron(n=40, dtype=np.float64):
    p1 = poisson1d(n)
    return sparse.kronsum(p1, p1).astype(dtype)


def rand_sym_pd(dtype=np.float64):
    data = np.random.RandomState(1234).rand(9, 9)
    return np.dot(data.conj(), data.T).astype(dtype)


CASES = {
    "poisson1d": lambda: poisson1d(),
    "poisson1d-F": lambda: poisson1d(dtype=np.float32),
    "poisson2d": lambda: poisson2d_kron(),
    "poisson2d-F": lambda: poisson2d_kron(dtype=np.float32),
    "rand-sym-pd": lambda: rand_sym_pd(),
    "rand-sym-pd-F": lambda: rand_sym_pd(np.float32),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    A = CASES[request.param]()
    return request.param, A, np.arange(A.shape[0], dtype=float)


def norm(v):
    return float(np.linalg.norm(v))


def test_maxiter(case, make_operator):
    _, A, b = case
    calls = []
    x, info = solve(A, b, make_operator, x0=0 * b, rtol=1e-12, maxiter=1,
                    callback=lambda xk: calls.append(norm(b - A @ xk)))
    assert len(calls) == 1
    assert info == 1


def test_convergence(case, make_operator):
    _, A, b = case
    rtol = 1e-8 if A.dtype.char in "dD" else 1e-2
    x0 = 0 * b
    x, info = solve(A, b, make_operator, x0=x0, rtol=rtol)
    np.testing.assert_array_equal(x0, 0 * b)
    assert info == 0
    assert norm(A @ x - b) <= norm(b) * rtol
    reference, _ = sla.cg(A, b, x0=0 * b, rtol=rtol)
    assert x.dtype == reference.dtype


def test_precond_dummy(case, make_operator):
    _, A, b = case
    rtol = 1e-8

    def identity(v, which=None):
        return v

    precond = sla.LinearOperator(A.shape, identity, rmatvec=identity)
    x, info = solve(A, b, make_operator, M=precond, x0=0 * b, rtol=rtol)
    assert info == 0
    assert norm(A @ x - b) <= norm(b) * rtol
    assert _cg.last_solve.method == "pcg"

    calls = [0]

    def counting_identity(v, which=None):
        calls[0] += 1
        return v

    lin = sla.aslinearoperator(A)
    lin.psolve = counting_identity
    lin.rpsolve = counting_identity
    x, info = solve(lin, b, make_operator, x0=0 * b, rtol=rtol)
    assert info == 0
    assert norm(A @ x - b) <= norm(b) * rtol
    assert calls[0] > 0  # the psolve attribute is the preconditioner


@pytest.mark.parametrize("name", ["poisson1d", "poisson2d"])
def test_precond_inverse(name, make_operator):
    A = CASES[name]()
    b = np.arange(A.shape[0], dtype=float)
    dense = A.toarray()
    count = [0]

    def matvec(v):
        count[0] += 1
        return A @ v

    lin = sla.LinearOperator(A.shape, matvec, rmatvec=matvec)
    precond = sla.LinearOperator(A.shape, lambda v: np.linalg.solve(dense, v))
    x, info = solve(lin, b, make_operator, M=precond, x0=0 * b, rtol=1e-8)
    assert info == 0
    assert norm(A @ x - b) <= norm(b) * 1e-8
    assert count[0] <= 3
    # the same with the matrix itself (PCG on the operator's matvec)
    x, info = solve(A, b, make_operator, M=precond, rtol=1e-8)
    assert info == 0 and norm(A @ x - b) <= norm(b) * 1e-8
    if make_operator is not None:
        op = make_operator.made[-1]
        assert op.matvecs <= 3 and op.powers_calls == 0


def test_atol(make_operator):
    rng = np.random.default_rng(168441431005389)
    A = rng.uniform(size=[10, 10])
    A = A @ A.T + 10 * np.eye(10)
    b = 1e3 * rng.uniform(size=10)
    b_norm = norm(b)
    tols = np.r_[0, np.logspace(-9, 2, 7), np.inf]
    M0 = rng.standard_normal(size=(10, 10))
    M0 = M0 @ M0.T
    for M, rtol, atol in itertools.product([None, 1e-6 * M0, 1e6 * M0], tols, tols):
        if rtol == 0 and atol == 0:
            continue
        x, info = solve(A, b, make_operator, M=M, rtol=rtol, atol=atol)
        assert info == 0, (M is None, rtol, atol)
        assert norm(A @ x - b) <= 1.00025 * max(atol, rtol * b_norm)


def test_zero_rhs(make_operator):
    rng = np.random.default_rng(1684414984100503)
    A = rng.random(size=[10, 10])
    A = A @ A.T + 10 * np.eye(10)
    b = np.zeros(10)
    for tol in np.logspace(-10, 2, 7):
        x, info = solve(A, b, make_operator, rtol=tol)
        assert info == 0
        np.testing.assert_allclose(x, 0.0, atol=1e-15)
        x, info = solve(A, b, make_operator, rtol=tol, x0=np.ones(10))
        assert info == 0
        np.testing.assert_allclose(x, 0.0, atol=tol)
        x, info = solve(A, b, make_operator, rtol=tol, atol=0, x0=np.ones(10))
        assert info == 0
        np.testing.assert_allclose(x, 0)
        x, info = solve(A, b, make_operator, rtol=tol, atol=tol)
        assert info == 0
        np.testing.assert_allclose(x, 0, atol=1e-300)


def test_x0_working(make_operator):
    rng = np.random.default_rng(1685363802304750)
    A = rng.random(size=[10, 10])
    A = A @ A.T
    b = rng.random(10)
    x0 = rng.random(10)
    x, info = solve(A, b, make_operator, atol=0, rtol=1e-6)
    assert info == 0
    assert norm(A @ x - b) <= 1e-6 * norm(b)
    kept = x0.copy()
    x, info = solve(A, b, make_operator, x0=x0, atol=0, rtol=1e-6)
    assert info == 0
    assert norm(A @ x - b) <= 1e-6 * norm(b)  # the true residual: tighter than SciPy's 4.5e-6
    np.testing.assert_array_equal(x0, kept)


def test_x0_equals_Mb(case, make_operator):
    _, A, b = case
    x, info = solve(A, b, make_operator, x0="Mb", rtol=1e-8)
    assert info == 0
    assert norm(A @ x - b) <= 1e-8 * norm(b)
    M = sparse.diags_array(1.0 / np.asarray(A.diagonal(), dtype=float))
    x, info = solve(A, b, make_operator, x0="Mb", M=M, rtol=1e-8)
    assert info == 0
    assert norm(A @ x - b) <= 1e-8 * norm(b)


def test_x0_solves_problem_exactly(make_operator):
    A = np.eye(2)
    b = np.array([1.0, 2.0])
    calls = []
    x, info = solve(A, b, make_operator, x0=b, callback=calls.append)
    np.testing.assert_array_equal(x, b)
    assert info == 0 and calls == []


def test_positional_error():
    A = poisson1d()
    b = np.arange(40, dtype=float)
    with pytest.raises(TypeError):
        _cg.cg(A, b, np.zeros(40), 1e-5)


@pytest.mark.parametrize("atol", ["legacy", None, -1, float("nan"), "1e-5"])
def test_invalid_atol(atol):
    A = poisson1d()
    b = np.arange(40, dtype=float)
    with pytest.raises(ValueError, match="atol"):
        _cg.cg(A, b, atol=atol)


# ---- the s-step solver -----------------------------------------------------------------------


def poisson2d(m):
    t = sparse.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    return sparse.csr_array(sparse.kronsum(t, t))


@pytest.fixture(scope="module")
def poisson64():
    A = poisson2d(64)
    b = np.arange(A.shape[0], dtype=float)
    steps = []
    x, info = sla.cg(A, b, rtol=1e-8, callback=lambda xk: steps.append(None))
    assert info == 0
    return A, b, len(steps)


@pytest.mark.parametrize("s", [1, 2, 4, 8])
def test_s_step_poisson(poisson64, s, make_operator):
    A, b, scipy_steps = poisson64
    steps = []
    x, info = solve(A, b, make_operator, rtol=1e-8, s=s, callback=lambda xk: steps.append(None))
    assert info == 0
    assert norm(b - A @ x) < 1e-8 * norm(b)
    assert len(steps) <= 1.5 * scipy_steps
    record = _cg.last_solve
    assert record.method == "s-step" and record.fallback is None
    assert record.iterations == len(steps)
    assert record.blocks == math.ceil(len(steps) / s)
    if make_operator is not None:
        (op,) = make_operator.made
        assert op.powers_calls == record.blocks  # one powers call per s steps
        assert set(op.powers_rows) == {s + 1}
        lanczos = min(op.n, max(2 * s, 10))
        # the shifts' Lanczos steps, a true residual each time the residual fell by 1e3: none for CG steps
        assert op.matvecs <= lanczos + 1 + math.ceil(8 / 3)


@pytest.mark.parametrize("s", [1, 3, 4, 8])
def test_s_step_iterates_are_cg_iterates(s, make_operator):
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    ours, theirs = [], []
    solve(A, b, make_operator, rtol=1e-10, s=s, maxiter=25, callback=lambda xk: ours.append(xk.copy()))
    sla.cg(A, b, rtol=1e-10, maxiter=25, callback=lambda xk: theirs.append(xk.copy()))
    assert len(ours) == len(theirs) == 25
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-7, atol=1e-7 * norm(reference))


@pytest.mark.parametrize("maxiter", [1, 3, 4, 5, 9])
def test_s_step_maxiter(maxiter, make_operator):
    A = poisson1d()
    b = np.arange(40, dtype=float)
    calls = []
    x, info = solve(A, b, make_operator, rtol=1e-12, s=4, maxiter=maxiter, callback=calls.append)
    assert info == maxiter and len(calls) == maxiter
    reference, _ = sla.cg(A, b, rtol=1e-12, maxiter=maxiter)
    np.testing.assert_allclose(x, reference, rtol=1e-9, atol=1e-9 * norm(reference))
    if make_operator is not None:
        assert make_operator.made[-1].powers_calls == math.ceil(maxiter / 4)


def test_s_step_stops_inside_a_block(make_operator):
    # SciPy stops at the first step whose recursive residual meets the tolerance; so does each s.
    A = poisson1d()
    b = np.arange(40, dtype=float)
    counts = {}
    for s in (1, 3, 7, 16):
        calls = []
        x, info = solve(A, b, make_operator, rtol=1e-6, s=s, callback=calls.append)
        assert info == 0 and norm(b - A @ x) < 1e-6 * norm(b)
        counts[s] = len(calls)
    ref_calls = []
    sla.cg(A, b, rtol=1e-6, callback=ref_calls.append)
    assert counts[1] == len(ref_calls)
    assert max(counts.values()) - min(counts.values()) <= 1


def ill_conditioned(n=200, cond=1e6):
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return sparse.csr_array((q * np.logspace(0, math.log10(cond), n)) @ q.T)


def test_fallback_to_ordinary_steps(make_operator):
    A = ill_conditioned()
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    x, info = solve(A, b, make_operator, rtol=1e-8, s=16, maxiter=20000)
    record = _cg.last_solve
    assert record.fallback is not None
    assert info == 0
    assert np.isfinite(x).all()
    assert norm(b - A @ x) < 1e-8 * norm(b)
    if make_operator is not None:
        op = make_operator.made[-1]
        assert op.matvecs > record.iterations - 16 * op.powers_calls  # the ordinary steps ran on matvec


def test_fallback_keeps_callbacks_and_maxiter(make_operator):
    A = ill_conditioned()
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    calls = []
    x, info = solve(A, b, make_operator, rtol=1e-14, s=16, maxiter=300, callback=calls.append)
    assert _cg.last_solve.fallback is not None
    assert info == 300 and len(calls) == 300
    assert np.isfinite(x).all()


def test_s_step_cannot_converge_reports_maxiter(make_operator):
    # rtol below what float64 attains: the recursive residual may claim it, the true one never does
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    x, info = solve(A, b, make_operator, rtol=1e-18, maxiter=400, s=4)
    assert info == 400
    assert norm(b - A @ x) < 1e-10 * norm(b)


def test_tiny_systems(make_operator):
    for n in (1, 2, 3):
        A = sparse.diags_array(np.arange(1.0, n + 1))
        b = np.ones(n)
        for s in (1, 4):
            x, info = solve(A, b, make_operator, rtol=1e-12, s=s)
            assert info == 0
            np.testing.assert_allclose(x, 1.0 / np.arange(1.0, n + 1), rtol=1e-10)


def test_dtypes_and_shapes(make_operator):
    A = poisson1d()
    b = np.arange(40)
    x, info = solve(A.astype(np.int64), b, make_operator, rtol=1e-10)
    assert info == 0 and x.dtype == np.float64
    x32, info = solve(A.astype(np.float32), b.astype(np.float32), make_operator, rtol=1e-6)
    assert info == 0 and x32.dtype == np.float32
    ref32, _ = sla.cg(A.astype(np.float32), b.astype(np.float32), rtol=1e-6)
    assert ref32.dtype == x32.dtype
    x, info = solve(A.astype(np.float32), b.astype(np.float64), make_operator, rtol=1e-10)
    assert x.dtype == np.float64
    x, info = solve(A, b.reshape(40, 1).astype(float), make_operator, rtol=1e-10)
    assert info == 0 and x.shape == (40,)
    x, info = solve(sparse.csr_matrix(A), b.astype(float), make_operator, rtol=1e-10, x0=np.ones((40, 1)))
    assert info == 0 and norm(A @ x - b) < 1e-10 * norm(b)
    x, info = solve(A.toarray().tolist(), b.astype(float), make_operator, rtol=1e-10)
    assert info == 0 and norm(A @ x - b) < 1e-10 * norm(b)


def test_non_canonical_csr_is_not_modified(make_operator):
    # duplicates and unsorted indices: the solver canonicalises a copy
    indptr = np.array([0, 3, 5, 7])
    indices = np.array([2, 0, 0, 1, 1, 2, 0])
    data = np.array([0.5, 2.0, 2.0, 2.0, 2.0, 3.0, 0.5])  # [[4, 0, 0.5], [0, 4, 0], [0.5, 0, 3]]
    A = sparse.csr_array((data, indices, indptr), shape=(3, 3))
    before = (A.indices.copy(), A.data.copy())
    b = np.array([1.0, 2.0, 3.0])
    x, info = solve(A, b, make_operator, rtol=1e-12)
    assert info == 0 and norm(A @ x - b) < 1e-12 * norm(b)
    np.testing.assert_array_equal(A.indices, before[0])
    np.testing.assert_array_equal(A.data, before[1])


def test_linear_operator_without_preconditioner(make_operator):
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    x, info = solve(sla.aslinearoperator(A), b, make_operator, rtol=1e-10)
    assert info == 0 and norm(b - A @ x) < 1e-10 * norm(b)
    assert _cg.last_solve.method == "pcg"
    if make_operator is not None:
        assert make_operator.made == []


def test_no_native_operator_falls_back_to_scipy_operator():
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    x, info = _cg.cg(A, b, rtol=1e-10, make_operator=lambda csr: None)
    assert info == 0 and norm(b - A @ x) < 1e-10 * norm(b)
    assert _cg.last_solve.method == "s-step"


def test_complex_delegates_to_scipy():
    data = np.random.RandomState(1234)
    data = data.rand(9, 9) + 1j * data.rand(9, 9)
    A = np.dot(data.conj(), data.T)
    b = np.arange(9, dtype=float)
    with pytest.warns(FallbackWarning, match="complex"):
        x, info = _cg.cg(A, b, rtol=1e-8)
    reference, ref_info = sla.cg(A, b, rtol=1e-8)
    assert info == ref_info == 0
    np.testing.assert_allclose(x, reference)
    with pytest.warns(FallbackWarning, match="b is complex"):
        _cg.cg(A.real + 9 * np.eye(9), b + 1j, rtol=1e-8)


def test_complex_under_strict_raises(monkeypatch):
    monkeypatch.setenv("ASP_STRICT", "1")
    if not asp.strict():
        pytest.skip("ASP_STRICT is not read at each call here")
    with pytest.raises(asp.SpecializationError):
        _cg.cg(np.eye(3) * (1 + 1j), np.ones(3))


def test_breakdown_returns_finite_iterate():
    # A zero matrix: pᵀAp = 0 on the first step
    A = sparse.csr_array((4, 4))
    b = np.ones(4)
    x, info = _cg.cg(A, b)
    assert info == -10 and np.isfinite(x).all()


# ---- asp.akx.cg's native CG program ---------------------------------------------------------------
# asp.akx.cg runs SciPy's loop as one native program of the akx plugin on the CPU backends when there is
# no callback and no preconditioner or a diagonal one; a device backend (opencl) runs the s-step path
# (or PCG with M) instead.

NATIVE_CG = BACKEND in ("openmp", "pthreads")


def native_cg(A, b, **kw):
    x, info = akx.cg(A, b, **kw)
    record = _cg.last_solve
    if NATIVE_CG:
        assert record.method == "native" and record.backend == BACKEND, record
    else:
        assert record.method == ("pcg" if "M" in kw else "s-step"), record
    return x, info


def scipy_steps(A, b, **kw):
    steps = []
    x, info = sla.cg(A, b, callback=lambda xk: steps.append(None), **kw)
    return x, info, len(steps)


def test_native_conformance_cases(case):
    # SciPy's posdef cases (test_convergence, test_maxiter without a callback, x0 = 'Mb' without M)
    _, A, b = case
    rtol = 1e-8 if A.dtype.char in "dD" else 1e-2
    x0 = 0 * b
    x, info = native_cg(A, b, x0=x0, rtol=rtol)
    np.testing.assert_array_equal(x0, 0 * b)
    assert info == 0 and norm(A @ x - b) <= norm(b) * rtol
    assert x.dtype == sla.cg(A, b, x0=0 * b, rtol=rtol)[0].dtype
    x, info = native_cg(A, b, x0=0 * b, rtol=1e-12, maxiter=1)
    assert info == 1
    x, info = native_cg(A, b, x0="Mb", rtol=1e-8)
    assert info == 0 and norm(A @ x - b) <= 1e-8 * norm(b)


@pytest.mark.parametrize("form", ["sdia", "dia", "d16", "i32", "b3x3"])
def test_native_matches_scipy(form):
    A = poisson2d(48)
    n = A.shape[0]
    if form == "b3x3":  # dense 3 x 3 couplings of a permuted Poisson matrix's unknowns: register tiles
        perm = np.random.default_rng(6).permutation(24 * 24)
        A = sparse.csr_array(sparse.kron(poisson2d(24)[perm][:, perm], np.array([[4.0, 1, 1], [1, 4, 1], [1, 1, 4]])))
        n = A.shape[0]
    if form == "dia":  # one value a rounding away from its mirror: no symmetric form
        A = sparse.csr_array(A)
        A[0, 1] = np.nextafter(A[0, 1], 0.0)
    if form in ("d16", "i32"):  # the same operator with its rows and columns permuted: no diagonal form
        perm = np.random.default_rng(5).permutation(n)
        A = sparse.csr_array(A[perm][:, perm])
    if form == "i32":  # and a diagonally dominant block coupling rows 35000 apart: offsets beyond int16
        far = sparse.diags_array([np.full(5000, 0.25), 1.0 + np.arange(40000) / 40000, np.full(5000, 0.25)],
                                 offsets=[-35000, 0, 35000])
        A = sparse.csr_array(sparse.block_diag([A, far]))
        n = A.shape[0]
    assert akx.MatrixPowers(A, 1).layout.encoding == form
    b = np.random.default_rng(2).standard_normal(n)
    reference, info_ref, steps = scipy_steps(A, b, rtol=1e-10)
    x, info = native_cg(A, b, rtol=1e-10)
    assert info == info_ref == 0
    assert norm(b - A @ x) < 1e-10 * norm(b)
    np.testing.assert_allclose(x, reference, rtol=0, atol=1e-8 * np.abs(reference).max())
    if NATIVE_CG:
        assert abs(_cg.last_solve.iterations - steps) <= max(2, steps // 50)


def test_native_poisson_steps_and_determinism(poisson64):
    A, b, _ = poisson64
    _, _, steps = scipy_steps(A, b, rtol=1e-8)
    x1, info = native_cg(A, b, rtol=1e-8)
    first = _cg.last_solve.iterations
    x2, _ = native_cg(A, b, rtol=1e-8)
    assert info == 0 and norm(b - A @ x1) < 1e-8 * norm(b)
    np.testing.assert_array_equal(x1, x2)  # fixed-order reductions: the same bits every run
    if NATIVE_CG:
        assert abs(first - steps) <= 2


def test_native_float32_and_x0():
    A = poisson2d(20).astype(np.float32)
    b = np.arange(A.shape[0], dtype=np.float32)
    x, info = native_cg(A, b, rtol=1e-5)
    assert info == 0 and x.dtype == np.float32
    assert norm(b - A @ x.astype(float)) < 2e-5 * norm(b)
    x0 = np.ones(A.shape[0])
    kept = x0.copy()
    x, info = native_cg(A.astype(float), b.astype(float), x0=x0, rtol=1e-10)
    assert info == 0 and norm(b - A @ x) < 1e-10 * norm(b)
    np.testing.assert_array_equal(x0, kept)


def test_native_exact_start_and_zero_rhs():
    A = poisson2d(10)
    b = A @ np.ones(A.shape[0])
    x, info = native_cg(A, b, x0=np.ones(A.shape[0]), rtol=0.0)  # r = 0 exactly: no step needed
    assert info == 0 and _cg.last_solve.iterations <= 1
    x, info = akx.cg(A, np.zeros(A.shape[0]), x0=np.ones(A.shape[0]))
    assert info == 0 and not x.any()  # SciPy: b = 0 returns zeros before any step


@pytest.mark.parametrize("maxiter", [1, 2, 7])
def test_native_maxiter(maxiter):
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    x, info = native_cg(A, b, rtol=1e-12, maxiter=maxiter)
    assert info == maxiter
    reference, info_ref = sla.cg(A, b, rtol=1e-12, maxiter=maxiter)
    assert info_ref == maxiter
    np.testing.assert_allclose(x, reference, rtol=1e-10, atol=1e-10 * np.abs(reference).max())
    if NATIVE_CG:
        assert _cg.last_solve.iterations == maxiter


def test_native_cannot_converge_reports_maxiter():
    # the recursive residual falls below 1e-18 relative, the true one cannot: the true-residual check
    # must keep the loop going (from the true residual) until maxiter
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    x, info = native_cg(A, b, rtol=1e-18, maxiter=400)
    assert info == 400 and np.isfinite(x).all()
    assert norm(b - A @ x) < 1e-10 * norm(b)


def test_native_nan_and_breakdown():
    A = poisson2d(8)
    b = np.ones(A.shape[0])
    b[3] = np.nan
    with pytest.raises(ValueError, match="b"):
        akx.cg(A, b)
    x, info = native_cg(sparse.csr_array((4, 4)), np.ones(4))  # pᵀAp = 0 on the first step
    assert info == -10 and np.isfinite(x).all()


def test_native_nonsymmetric_and_indefinite_stop():
    rng = np.random.default_rng(11)
    nonsym = sparse.csr_array(sparse.random_array((300, 300), density=0.02, random_state=rng) + sparse.eye_array(300))
    indefinite = sparse.csr_array(sparse.diags_array(np.linspace(-1.0, 1.0, 301)))
    for A in (nonsym, indefinite):
        b = rng.standard_normal(A.shape[0])
        x, info = native_cg(A, b, rtol=1e-10, maxiter=500)
        assert info in (0, 500, -10) and np.isfinite(x).all()
        if info == 0:
            assert norm(b - A @ x) < 1e-10 * norm(b)


@pytest.mark.parametrize("kind", ["dia", "csr", "float32"])
def test_native_jacobi(kind):
    # a badly scaled SPD matrix, where Jacobi pays: SciPy's PCG with the same M, step for step
    A = poisson2d(24)
    scale = sparse.diags_array(np.logspace(0, 3, A.shape[0]))
    A = sparse.csr_array(scale @ A @ scale)
    b = np.random.default_rng(4).standard_normal(A.shape[0])
    d = 1.0 / A.diagonal()
    M = sparse.diags_array(d) if kind == "dia" else sparse.csr_array(sparse.diags_array(d))
    if kind == "float32":
        M = M.astype(np.float32)
    reference, info_ref, steps = scipy_steps(A, b, rtol=1e-9, M=M)
    x, info = native_cg(A, b, rtol=1e-9, M=M)
    assert info == info_ref == 0
    assert norm(b - A @ x) < 1e-9 * norm(b)
    np.testing.assert_allclose(x, reference, rtol=0, atol=1e-6 * np.abs(reference).max())
    if NATIVE_CG:
        assert abs(_cg.last_solve.iterations - steps) <= max(2, steps // 50)
    _, _, plain = scipy_steps(A, b, rtol=1e-9, maxiter=100_000)
    assert steps < plain  # the preconditioner mattered
    x, info = native_cg(A, b, rtol=1e-9, M=M, x0="Mb")
    assert info == 0 and norm(b - A @ x) < 1e-9 * norm(b)


def test_native_not_chosen():
    A = poisson2d(16)
    b = np.arange(A.shape[0], dtype=float)
    akx.cg(A, b, rtol=1e-8, method="s-step")
    assert _cg.last_solve.method == "s-step"
    calls = []
    akx.cg(A, b, rtol=1e-8, callback=calls.append)
    assert _cg.last_solve.method == "s-step" and len(calls) == _cg.last_solve.iterations
    M = sla.aslinearoperator(sparse.diags_array(1.0 / A.diagonal()))  # not a sparse matrix: PCG in Python
    x, info = akx.cg(A, b, rtol=1e-8, M=M)
    assert _cg.last_solve.method == "pcg" and info == 0
    M = sparse.diags_array([np.full(255, 0.1), 1.0 / A.diagonal(), np.full(255, 0.1)], offsets=[-1, 0, 1])
    x, info = akx.cg(A, b, rtol=1e-8, M=M)  # not diagonal
    assert _cg.last_solve.method == "pcg" and info == 0
    akx.cg(sla.aslinearoperator(A), b, rtol=1e-8)
    assert _cg.last_solve.method == "pcg"
    with pytest.raises(ValueError, match="method"):
        akx.cg(A, b, method="fast")


# ---- leja_shifts -----------------------------------------------------------------------------


def leja_property(shifts):
    """Each shift maximises the product of distances to the earlier ones among those after it."""
    assert abs(shifts[0]) == pytest.approx(np.max(np.abs(shifts)))
    for i in range(1, len(shifts)):
        score = lambda v: np.sum(np.log(np.abs(v - shifts[:i])))  # noqa: E731
        assert all(score(shifts[i]) >= score(later) - 1e-9 for later in shifts[i + 1:])


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_leja_shifts_order_and_range(k):
    n = 40
    A = poisson1d(n)
    eig = 2 - 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
    shifts = _cg.leja_shifts(A, k)
    assert shifts.shape == (k,) and shifts.dtype == np.float64
    assert (shifts >= eig.min() - 1e-12).all() and (shifts <= eig.max() + 1e-12).all()
    assert len(set(shifts.tolist())) == k
    leja_property(shifts)
    assert shifts[0] > eig.max() - 0.1  # the largest Ritz value is close to λmax
    np.testing.assert_array_equal(shifts, _cg.leja_shifts(A, k))  # a fixed seed: reproducible


def test_leja_shifts_cycles_and_small_n():
    A = sparse.diags_array([1.0, 2.0, 3.0])
    shifts = _cg.leja_shifts(A, 7)
    np.testing.assert_allclose(shifts, [3, 1, 2, 3, 1, 2, 3])
    np.testing.assert_allclose(_cg.leja_shifts(np.array([[5.0]]), 3), [5, 5, 5])
    assert _cg.leja_shifts(A, 0).shape == (0,)
    np.testing.assert_allclose(_cg.leja_shifts(np.eye(4) * 2, 3), [2, 2, 2])
    np.testing.assert_allclose(_cg.leja_shifts(sparse.csr_array((3, 3)), 2), [0, 0])


def test_leja_shifts_nonsymmetric_and_operator():
    A = sparse.diags_array([np.full(30, 2.0), np.full(29, -1.0)], offsets=[0, -1])
    shifts = _cg.leja_shifts(A, 6)
    assert shifts.shape == (6,) and np.isfinite(shifts).all()
    B = poisson1d()
    op = CountingOperator(sparse.csr_array(B))
    np.testing.assert_allclose(_cg.leja_shifts(B, 5, operator=op), _cg.leja_shifts(B, 5))
    assert op.matvecs == 10


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_leja_shifts_bad_k(bad, error):
    with pytest.raises(error):
        _cg.leja_shifts(poisson1d(), bad)


def test_leja_shifts_bad_matrix():
    with pytest.raises(ValueError, match="square"):
        _cg.leja_shifts(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="NaN"):
        _cg.leja_shifts(np.array([[1.0, np.nan], [0.0, 1.0]]), 2)
    with pytest.raises(TypeError, match="complex"):
        _cg.leja_shifts(np.eye(2) * 1j, 2)
    with pytest.raises(ValueError, match="operator"):
        _cg.leja_shifts(np.eye(3), 2, operator=CountingOperator(sparse.csr_array(np.eye(2))))


# ---- bad input -------------------------------------------------------------------------------


def test_bad_shapes():
    A = poisson1d()
    b = np.arange(40, dtype=float)
    with pytest.raises(ValueError, match="square"):
        _cg.cg(sparse.csr_array(np.ones((3, 4))), np.ones(3))
    with pytest.raises(ValueError, match="expected 2-D"):
        _cg.cg(np.ones((2, 2, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(40,\)"):
        _cg.cg(A, np.ones(39))
    with pytest.raises(ValueError, match="b has shape"):
        _cg.cg(A, np.ones((40, 2)))
    with pytest.raises(ValueError, match="x0 has shape"):
        _cg.cg(A, b, x0=np.ones(41))
    with pytest.raises(ValueError, match="preconditioner"):
        _cg.cg(A, b, M=np.eye(39))
    with pytest.raises(ValueError, match="'Mb'"):
        _cg.cg(A, b, x0="zeros")


@pytest.mark.parametrize("where", ["A-sparse", "A-dense", "b", "x0"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_not_finite(where, value):
    A = poisson1d()
    b = np.arange(40, dtype=float)
    x0 = np.zeros(40)
    if where == "A-sparse":
        A = A.copy()
        A.data[3] = value
    elif where == "A-dense":
        A = A.toarray()
        A[1, 1] = value
    elif where == "b":
        b[5] = value
    else:
        x0[0] = value
    with pytest.raises(ValueError, match="NaN or infinity"):
        _cg.cg(A, b, x0=x0)


@pytest.mark.parametrize("s, error", [(0, ValueError), (-2, ValueError), (2.0, TypeError), ("4", TypeError),
                                      (None, TypeError)])
def test_bad_s(s, error):
    with pytest.raises(error, match="s must"):
        _cg.cg(poisson1d(), np.ones(40), s=s)


@pytest.mark.parametrize("kw", [dict(rtol=-1e-5), dict(rtol=float("nan")), dict(rtol="tight"), dict(rtol=None),
                                dict(maxiter=-1), dict(maxiter=2.5), dict(callback=3)])
def test_bad_options(kw):
    error = TypeError if "callback" in kw else ValueError
    with pytest.raises(error):
        _cg.cg(poisson1d(), np.ones(40), **kw)


def test_make_operator_with_wrong_size():
    with pytest.raises(ValueError, match="make_operator"):
        _cg.cg(poisson1d(), np.ones(40), make_operator=lambda csr: CountingOperator(sparse.csr_array(np.eye(3))))


@pytest.mark.skipif(not NATIVE_CG, reason="the native CG program runs on the CPU backends only")
def test_native_program_unavailable_warns_and_runs_s_step(monkeypatch, poisson64):
    real = akx._specialize

    def refuse_cg(function, key, arguments):
        return "the akx program could not be built: refused by the test" if key[0] == "cg" else real(function, key, arguments)

    monkeypatch.setattr(akx, "_specialize", refuse_cg)
    monkeypatch.setattr(akx, "_warned_cg", set())
    A, b, _ = poisson64
    with pytest.warns(FallbackWarning, match="s-step solver, not the native CG program: .*refused by the test"):
        x, info = akx.cg(A, b, rtol=1e-8)
    assert _cg.last_solve.method == "s-step" and info == 0
    np.testing.assert_allclose(x, sla.cg(A, b, rtol=1e-8)[0], rtol=1e-6, atol=1e-6 * np.abs(x).max())
