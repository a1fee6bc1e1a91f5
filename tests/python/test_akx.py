"""asp.akx: the matrix powers kernel against repeated SciPy SpMV, its plans, tuning and bad input."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

sparse = pytest.importorskip("scipy.sparse")

import asp  # noqa: E402
from asp import _akx_plan, akx  # noqa: E402

BACKEND = os.environ.get("ASP_TEST_BACKEND", "openmp")
NATIVE = BACKEND in ("openmp", "pthreads", "opencl")


@pytest.fixture(autouse=True)
def _errors_not_fallbacks():
    with warnings.catch_warnings():
        warnings.simplefilter("error", asp.FallbackWarning)
        yield


def poisson1d(n):
    return sparse.csr_array(sparse.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n)))


def poisson2d(n):
    t = sparse.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n))
    return sparse.csr_array(sparse.kronsum(t, t))


def poisson3d(n):
    t = sparse.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n))
    return sparse.csr_array(sparse.kronsum(sparse.kronsum(t, t), t))


def random_matrix(n, density, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = sparse.random_array((n, n), density=density, rng=rng) + sparse.eye_array(n)
    return sparse.csr_array(a).astype(dtype)


def reference(a, x, coef):
    """Repeated SciPy SpMV: level i+1 = alpha (A v_i) + beta v_i + gamma v_{i-1}, in A's dtype."""
    out = [np.asarray(x, dtype=a.dtype)]
    for i, (alpha, beta, gamma) in enumerate(coef):
        v = a @ out[-1]
        if alpha != 1:
            v = a.dtype.type(alpha) * v
        if beta != 0:
            v = v + a.dtype.type(beta) * out[-1]
        if gamma != 0 and i >= 1:
            v = v + a.dtype.type(gamma) * out[-2]
        out.append(v)
    return np.array(out)


def assert_rows_close(got, want, rtol):
    assert got.shape == want.shape and got.dtype == want.dtype
    for level, (g, w) in enumerate(zip(got, want)):
        scale = max(np.abs(w).max(), np.finfo(w.dtype).tiny)
        assert np.abs(g - w).max() <= rtol * scale, f"level {level}"


def check_native(obj):
    if NATIVE:
        assert obj.last_call.backend == BACKEND, obj.last_call
        assert obj.last_call.fallback_reason is None


MATRICES = {
    "poisson1d-50": lambda: poisson1d(50),
    "poisson2d-40": lambda: poisson2d(40),
    "poisson3d-12": lambda: poisson3d(12),
    "random-1": lambda: random_matrix(1, 1.0, 1),
    "random-97-dense-ish": lambda: random_matrix(97, 0.2, 2),
    "random-600": lambda: random_matrix(600, 0.01, 3),
    "random-2000-wide": lambda: random_matrix(2000, 0.002, 4),
}


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("basis", ["monomial", "newton", "chebyshev"])
def test_every_basis_equals_repeated_scipy_spmv(name, basis):
    a = MATRICES[name]()
    n = a.shape[0]
    x = np.random.default_rng(5).standard_normal(n)
    k = 6
    options = {"newton": {"shifts": np.linspace(-1, 2, k)}, "chebyshev": {"interval": (0.0, 8.0)}}.get(basis, {})
    obj = akx.MatrixPowers(a, k, basis, **options)
    got = obj(x)
    check_native(obj)
    assert_rows_close(got, reference(a, x, obj._coefficients(k)), 1e-12)
    assert np.array_equal(got, akx.matrix_powers(a, x, k, basis, **options))


@pytest.mark.parametrize("m", [0, 1, 3, 4, 7, 8, 13])
def test_several_passes_and_a_short_last_one(m):
    a = poisson2d(30)
    x = np.random.default_rng(6).standard_normal(a.shape[0])
    obj = akx.MatrixPowers(a, 4, "chebyshev", interval=(0.0, 8.0))  # three-term: crosses passes
    got = obj(x, m)
    assert got.shape == (m + 1, a.shape[0])
    assert_rows_close(got, reference(a, x, obj._coefficients(m)), 1e-12)
    if m:
        check_native(obj)


def test_k_zero_returns_x():
    a = poisson1d(10)
    x = np.arange(10.0)
    got = akx.matrix_powers(a, x, 0)
    assert got.shape == (1, 10) and np.array_equal(got[0], x)


def test_float32_within_its_precision():
    a = random_matrix(300, 0.02, 7, np.float32)
    x = np.random.default_rng(8).standard_normal(300).astype(np.float32)
    obj = akx.MatrixPowers(a, 5, "newton", shifts=[0.5, -0.5, 1.0, 0.0, 2.0])
    got = obj(x)
    check_native(obj)
    assert got.dtype == np.float32
    assert_rows_close(got, reference(a, x, obj._coefficients(5)), 1e-5)


LAYOUTS = [akx.Layout(p, t, r, levels, e) for p in ("contiguous", "metis") for t in (1, 3) for r in (0, 37, 500)
           for levels in (1, 3, 8) for e in ("i32", "d16", "dia", "sdia")]


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_every_layout_computes_the_same_basis(layout):
    if layout.partition == "metis" and not _akx_plan.metis_available():
        pytest.skip("libmetis is not installed")
    a = poisson2d(25)
    x = np.random.default_rng(9).standard_normal(a.shape[0])
    obj = akx.MatrixPowers(a, 8, layout=layout)
    got = obj(x, 11)
    y = obj.spmv(x)
    check_native(obj)
    want = reference(a, x, obj._coefficients(11))
    assert_rows_close(got, want, 1e-12)
    # Every row sum runs in its nonzeros' order without contraction: the same bits whatever the plan and form.
    assert np.array_equal(got, akx.MatrixPowers(a, 8)(x, 11))
    assert np.array_equal(y, got[1])
    # No level is read before it is written (the diagonal form reads its diagonals' zeros too).
    vecs = np.full_like(got, np.nan)
    vecs[0] = x
    obj.powers(vecs)
    assert np.array_equal(vecs, got)


def test_powers_fills_a_strided_array_in_place_and_newton_uses_its_shifts():
    a = random_matrix(120, 0.05, 10)
    x = np.random.default_rng(11).standard_normal(120)
    obj = akx.MatrixPowers(a, 3)
    big = np.zeros((5, 240))
    vecs = big[:, ::2]  # a column stride of 16 bytes
    vecs[0] = x
    obj.powers(vecs)
    assert_rows_close(np.ascontiguousarray(vecs), reference(a, x, [(1, 0, 0)] * 4), 1e-12)
    assert np.all(big[:, 1::2] == 0)
    shifts = np.array([0.1, -0.2, 0.3, 0.4])
    rows = np.zeros((5, 120))
    rows[0] = x
    obj.newton(rows, shifts)
    assert_rows_close(rows, reference(a, x, [(1, -s, 0) for s in shifts]), 1e-12)


def test_the_diagonal_form_is_offered_where_it_fits():
    assert akx._Matrix(poisson2d(20)).encodings() == ["i32", "d16", "dia", "sdia"]
    assert akx._Matrix(poisson2d(20)).most_compact() == "sdia"
    assert akx._Matrix(random_matrix(300, 0.05, 17)).encodings() == ["i32", "d16"]
    # Diagonals 40 000 apart: no int16 offsets, but the diagonal forms.
    n = 100_000
    wide = sparse.diags_array([np.ones(n - 40_000), np.ones(n), np.ones(n - 40_000)], offsets=[-40_000, 0, 40_000])
    assert akx._Matrix(wide).encodings() == ["i32", "dia", "sdia"]
    # One value a rounding away from its mirror: not symmetric, so no symmetric form.
    almost = sparse.csr_array(poisson2d(20))
    almost[0, 1] = np.nextafter(-1.0, 0.0)
    assert akx._Matrix(almost).encodings() == ["i32", "d16", "dia"]
    assert akx._Matrix(sparse.csr_array(([1.0], ([0], [n - 1])), shape=(n, n)) + sparse.eye_array(n)).encodings() == ["i32"]
    # A diagonal whose entries fall outside the matrix at its ends: the rows there skip them.
    a = sparse.csr_array(sparse.diags_array([np.arange(1.0, 6.0), -np.ones(3), 2 * np.ones(2)], offsets=[0, 2, -3]))
    x = np.random.default_rng(18).standard_normal(5)
    obj = akx.MatrixPowers(a, 3, layout=akx.Layout("contiguous", 2, 0, 3, "dia"))
    assert np.array_equal(obj(x), reference(a, x, [(1, 0, 0)] * 3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_symmetric_diagonal_form_gives_the_full_forms_bits(dtype):
    # Upper diagonals cut at the matrix's end, no main diagonal, a diagonal of explicit zeros, and the
    # 3-D Poisson matrix: every row reads its lower diagonals o rows back, in the full form's order.
    rng = np.random.default_rng(21)
    n = 200
    u1, u7 = rng.standard_normal(n - 1), rng.standard_normal(n - 7)
    banded = sparse.diags_array([u7, u1, u1, u7], offsets=[-7, -1, 1, 7])
    coo = sparse.coo_array(banded)
    rows = np.concatenate([coo.row, np.arange(n - 3), np.arange(3, n)])
    cols = np.concatenate([coo.col, np.arange(3, n), np.arange(n - 3)])
    zeros = sparse.csr_array((np.concatenate([coo.data, np.zeros(2 * (n - 3))]), (rows, cols)), shape=(n, n))
    assert zeros.nnz == banded.nnz + 2 * (n - 3)
    for a in (sparse.csr_array(banded + sparse.eye_array(n) * 3.0), zeros, poisson3d(6)):
        a = sparse.csr_array(a).astype(dtype)
        assert "sdia" in akx._Matrix(a).encodings()
        x = rng.standard_normal(a.shape[0]).astype(dtype)
        full = akx.MatrixPowers(a, 4, layout=akx.Layout("contiguous", 3, 50, 4, "dia"))
        half = akx.MatrixPowers(a, 4, layout=akx.Layout("contiguous", 3, 50, 4, "sdia"))
        got = half(x, 6)
        check_native(half)
        assert np.array_equal(got, full(x, 6))
        assert np.array_equal(half.spmv(x), got[1])
        assert_rows_close(got, reference(a, x, half._coefficients(6)), 1e-12 if dtype == np.float64 else 1e-5)
    # Its coefficients: the upper diagonals only.
    arrays = akx._Matrix(poisson2d(20)).arrays("sdia")
    assert list(arrays["offsets"]) == [0, 1, 20] and arrays["data"].shape == (3, 400)


def block_matrix(blocks, r, seed, drop_last=True):
    """A sparse matrix of dense r x r tiles (a random pattern of `blocks` block rows, a dominant
    diagonal), one row and column short of whole tiles when drop_last."""
    rng = np.random.default_rng(seed)
    base = sparse.random_array((blocks, blocks), density=0.08, random_state=seed) + sparse.eye_array(blocks)
    a = sparse.csr_array(sparse.kron(base, rng.standard_normal((r, r))))
    return sparse.csr_array(a[:-1, :-1]) if drop_last else a


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("r", [2, 3, 4])
def test_register_tiles_give_the_csr_bits(r, dtype):
    a = block_matrix(40, r, 30 + r).astype(dtype)
    m = akx._Matrix(a)
    assert f"b{r}x{r}" in m.encodings()
    assert m.most_compact() == min(m.encodings(), key=m.bytes_per_row)  # the default form
    assert m.most_compact().startswith("b")
    x = np.random.default_rng(31).standard_normal(a.shape[0]).astype(dtype)
    want = akx.MatrixPowers(a, 4, layout=akx.Layout("contiguous", 1, 0, 1, "i32"))(x, 7)
    # Thread and cache blocks whose rows start and end inside tiles: the partial block rows go row by row.
    for layout in (akx.Layout("contiguous", 3, 0, 4, f"b{r}x{r}"), akx.Layout("contiguous", 2, 7, 3, f"b{r}x{r}"),
                   akx.Layout("contiguous", 5, 0, 1, f"b{r}x{r}")):
        obj = akx.MatrixPowers(a, 4, layout=layout)
        got = obj(x, 7)
        check_native(obj)
        assert np.array_equal(got, want), layout
        assert np.array_equal(obj.spmv(x), want[1])
    assert_rows_close(want, reference(a, x, [(1, 0, 0)] * 7), 1e-12 if dtype == np.float64 else 1e-5)


def test_register_tiles_are_offered_only_where_their_fill_is_small():
    # Scattered nonzeros: every tile would hold about one of them.
    assert not any(e.startswith("b") for e in akx._Matrix(random_matrix(300, 0.05, 17)).encodings())
    assert not any(e.startswith("b") for e in akx._Matrix(poisson2d(20)).encodings())
    # 3 x 3 tiles fit a matrix of 3 x 3 tiles; 2 x 2 ones would straddle them.
    encodings = akx._Matrix(block_matrix(30, 3, 5, drop_last=False)).encodings()
    assert "b3x3" in encodings and "b2x2" not in encodings and "b4x4" not in encodings
    tiles = akx._Matrix(block_matrix(30, 3, 5, drop_last=False)).arrays("b3x3")
    assert tiles["data"].shape[1:] == (3, 3) and tiles["cols"].dtype == np.int32


def test_spmv_equals_scipy():
    a = random_matrix(700, 0.01, 12)
    x = np.random.default_rng(13).standard_normal(700)
    obj = akx.MatrixPowers(a, 2)
    out = np.empty(700)
    assert obj.spmv(x, out) is out
    check_native(obj)
    assert np.allclose(out, a @ x, rtol=1e-13, atol=1e-13)


def test_input_forms_and_a_matrix_that_is_not_modified():
    dense = poisson1d(20).toarray()
    x = np.linspace(0, 1, 20)
    want = akx.matrix_powers(sparse.csr_array(dense), x, 3)
    for form in (dense, sparse.csc_array(dense), sparse.coo_array(dense), sparse.bsr_array(dense),
                 sparse.csr_matrix(dense)):
        assert np.array_equal(akx.matrix_powers(form, x, 3), want)
    # Unsorted indices and duplicates are summed on a copy: the caller's matrix stays as it was.
    coo = sparse.coo_array((np.array([1.0, 2.0, 3.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))), shape=(2, 2))
    csr = sparse.csr_array((coo.data, (coo.row, coo.col)), shape=(2, 2))
    before = csr.data.copy()
    assert np.array_equal(akx.matrix_powers(csr, [1.0, 1.0], 1)[1], csr.toarray() @ [1.0, 1.0])
    assert np.array_equal(csr.data, before)


def test_tune_keeps_its_choice_for_this_structure(monkeypatch, tmp_path):
    record = tmp_path / "akx-tuning.json"
    monkeypatch.setattr(akx, "_record_path", lambda: str(record))
    a = poisson2d(40)
    obj = akx.tune(a, 4)
    x = np.random.default_rng(14).standard_normal(a.shape[0])
    got = obj(x)
    check_native(obj)
    assert_rows_close(got, reference(a, x, [(1, 0, 0)] * 4), 1e-12)
    if not NATIVE:
        return
    entries = json.loads(record.read_text())
    (entry,) = entries.values()
    backend = BACKEND if BACKEND == "opencl" else "cpu"
    timed = [layout for layout, _ in entry["measured"]]
    forms = akx._forms(akx._Matrix(a), 4, backend)
    assert len(set(timed)) == len(timed) and timed[:len(forms)] == [str(f) for f in forms]
    assert len(timed) > len(forms)  # the second round, for the best form: levels per pass and block sizes
    # Another matrix of the same structure (other values) starts with the recorded layout.
    assert akx.MatrixPowers(2.5 * a, 4).layout == obj.layout
    other = akx._Matrix(poisson2d(41))
    assert akx._recorded(other, 4, backend) is None  # another structure has no record


def test_tune_in_a_second_process_starts_on_the_recorded_layout(tmp_path):
    if not NATIVE:
        pytest.skip("the record is made where a native backend runs")
    script = (
        "import sys, scipy.sparse as sp, asp.akx as akx\n"
        "t = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(30, 30))\n"
        "a = sp.csr_array(sp.kronsum(t, t))\n"
        "print(repr(akx.tune(a, 3).layout) if sys.argv[1] == 'tune' else repr(akx.MatrixPowers(a, 3).layout))\n")
    env = dict(os.environ, ASP_CACHE_DIR=str(tmp_path))
    run = lambda what: subprocess.run([sys.executable, "-c", script, what], env=env, capture_output=True, text=True,
                                      timeout=300, check=True).stdout.strip()
    assert run("tune") == run("use")


def test_tune_interrupted_keeps_the_best_measured(monkeypatch, tmp_path):
    monkeypatch.setattr(akx, "_record_path", lambda: str(tmp_path / "akx-tuning.json"))
    calls = []
    real = akx._time

    def interrupted(obj, vecs, coef, layout, budget):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(layout)
        return real(obj, vecs, coef, layout, budget)

    monkeypatch.setattr(akx, "_time", interrupted)
    a = poisson2d(20)
    if not NATIVE:
        pytest.skip("no native backend: nothing is tuned")
    with pytest.warns(RuntimeWarning, match="interrupted"):
        obj = akx.tune(a, 4)
    assert obj.layout in calls


def test_tune_bases():
    a = poisson2d(10)
    x = np.random.default_rng(15).standard_normal(100)
    obj = akx.tune(a, 3, basis=1, shifts=[0.0, 1.0, 2.0])
    vecs = np.zeros((4, 100))
    vecs[0] = x
    obj.newton(vecs, [1.0, 2.0, 3.0])
    assert_rows_close(vecs, reference(a, x, [(1, -1, 0), (1, -2, 0), (1, -3, 0)]), 1e-12)
    obj.powers(vecs)
    assert_rows_close(vecs, reference(a, x, [(1, 0, 0), (1, -1, 0), (1, -2, 0)]), 1e-12)
    with pytest.raises(ValueError, match="unknown basis"):
        akx.tune(a, 3, basis=2)


def test_disabled_runs_scipy(monkeypatch):
    monkeypatch.setenv("ASP_DISABLE", "1")
    monkeypatch.setattr(akx, "_specialized", {})
    a = poisson1d(30)
    x = np.ones(30)
    obj = akx.MatrixPowers(a, 3)
    got = obj(x)
    assert obj.last_call.backend is None and obj.last_call.fallback_reason == "ASP_DISABLE is set"
    assert_rows_close(got, reference(a, x, [(1, 0, 0)] * 3), 1e-15)


def test_no_backend_falls_back_with_a_warning_or_raises_under_strict(monkeypatch):
    monkeypatch.setattr(akx, "_specialized", {})
    monkeypatch.setattr(asp, "specialize", lambda *a, **k: (_ for _ in ()).throw(asp.UnsupportedError("no backend")))
    a = poisson1d(30)
    x = np.ones(30)
    obj = akx.MatrixPowers(a, 3)
    with pytest.warns(asp.FallbackWarning, match="no backend"):
        got = obj(x)
    assert obj.last_call.backend is None
    assert_rows_close(got, reference(a, x, [(1, 0, 0)] * 3), 1e-15)
    monkeypatch.setattr(akx, "_specialized", {})
    monkeypatch.setenv("ASP_STRICT", "1")
    with pytest.raises(asp.SpecializationError, match="no backend"):
        akx.MatrixPowers(a, 3)(x)


# ---- bad input: refused before any native code runs ----


@pytest.fixture
def no_native(monkeypatch):
    monkeypatch.setattr(akx, "_specialize", lambda *a, **k: pytest.fail("native code ran"))


@pytest.mark.parametrize("bad, error, match", [
    (np.ones((3, 4)), ValueError, "square"),
    (np.ones(3), ValueError, "square"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "NaN"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), ValueError, "NaN or infinite"),
    (np.eye(2, dtype=complex), TypeError, "complex"),
    (np.eye(2, dtype=np.int64), TypeError, "float32 or float64"),
    ("matrix", TypeError, "csr_array accepts"),
])
def test_bad_matrices(no_native, bad, error, match):
    with pytest.raises(error, match=match):
        akx.matrix_powers(bad, np.ones(2), 2)


@pytest.mark.parametrize("x, error, match", [
    (np.ones(3), ValueError, "length 2"),
    (np.ones((2, 1)), ValueError, "length 2"),
    ([1.0, np.nan], ValueError, "NaN"),
    ([1.0, -np.inf], ValueError, "NaN or infinite"),
    (np.ones(2, dtype=complex), TypeError, "complex"),
    (np.ones(2, dtype=np.int32), TypeError, "float32 or float64"),
])
def test_bad_vectors(no_native, x, error, match):
    with pytest.raises(error, match=match):
        akx.matrix_powers(np.eye(2), x, 2)


@pytest.mark.parametrize("k, kwargs, error, match", [
    (-1, {}, ValueError, ">= 0"),
    (2.0, {}, TypeError, "integer"),
    (True, {}, TypeError, "integer"),
    (2, {"basis": "legendre"}, ValueError, "monomial, newton, chebyshev"),
    (2, {"basis": "newton"}, ValueError, "needs shifts"),
    (2, {"basis": "newton", "shifts": [1.0]}, ValueError, "2 shifts"),
    (2, {"basis": "newton", "shifts": [1.0, np.nan]}, ValueError, "finite"),
    (2, {"basis": "newton", "shifts": [1j, 1.0]}, TypeError, "real"),
    (2, {"basis": "chebyshev"}, ValueError, "interval"),
    (2, {"basis": "chebyshev", "interval": (2.0, 1.0)}, ValueError, "a < b"),
    (2, {"shifts": [1.0, 2.0]}, ValueError, "Newton basis"),
    (2, {"interval": (0.0, 1.0)}, ValueError, "Chebyshev basis"),
])
def test_bad_parameters(no_native, k, kwargs, error, match):
    with pytest.raises(error, match=match):
        akx.MatrixPowers(np.eye(2), k, **kwargs)


def test_bad_vecs_and_steps(no_native):
    obj = akx.MatrixPowers(np.eye(3), 2)
    with pytest.raises(ValueError, match=r"\(m \+ 1, 3\)"):
        obj.powers(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="float64"):
        obj.powers(np.zeros((3, 3), dtype=np.float32))
    read_only = np.zeros((3, 3))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        obj.powers(read_only)
    with pytest.raises(ValueError, match="at least its row 0"):
        obj.powers(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        obj(np.ones(3), -2)
    with pytest.raises(ValueError, match="3 shifts"):
        obj.newton(np.zeros((4, 3)), [1.0])


def test_the_plugin_checks_what_it_is_given():
    a = akx._Matrix(poisson1d(4))
    good = akx.MatrixPowers._arguments(a, akx.Layout("contiguous", 1, 0, 2, "i32"), akx._PLACEHOLDER,
                                       np.zeros((3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="takes 16 arguments"):
        asp.specialize("akx", akx._powers_program, dict(list(good.items())[:-1]))
    with pytest.raises(ValueError, match="cols must be an int32"):
        asp.specialize("akx", akx._powers_program, dict(good, cols=np.zeros(3, dtype=np.int64)))
    with pytest.raises(ValueError, match="vecs must have the type of data"):
        asp.specialize("akx", akx._powers_program, dict(good, vecs=np.zeros((3, 4), dtype=np.float32)))

    def _other_program(x):
        """Not one of asp.akx's."""

    with pytest.raises(ValueError, match="not an asp.akx program"):
        asp.specialize("akx", _other_program, {"x": np.zeros(3)})


def test_a_matrix_whose_ghost_zones_cover_everything_runs_plain_spmv_passes():
    a = random_matrix(3000, 0.004, 19)  # 12 random neighbours a row: two levels reach most rows
    x = np.random.default_rng(20).standard_normal(3000)
    costly = akx.Layout("contiguous", 2, 100, 6, "i32")
    with pytest.raises(_akx_plan.TooCostly):
        akx.MatrixPowers(a, 6, layout=costly)._plan(costly, 6, False)
    obj = akx.MatrixPowers(a, 6, layout=costly)
    got = obj(x)
    if BACKEND != "opencl":  # a device plan is never refused: only timing weighs its redundant work
        assert obj.layout == akx.Layout("contiguous", 2, 0, 1, "i32")
    assert_rows_close(got, reference(a, x, [(1, 0, 0)] * 6), 1e-12)


def test_cg_is_scipys_solver_on_the_native_kernels():
    import scipy.sparse.linalg as linalg

    a = poisson2d(32)
    b = np.arange(a.shape[0], dtype=float)
    steps = []
    x, info = akx.cg(a, b, rtol=1e-8, callback=lambda xk: steps.append(1))
    want, want_info = linalg.cg(a, b, rtol=1e-8)
    assert info == 0 == want_info
    assert np.linalg.norm(b - a @ x) <= 1e-8 * np.linalg.norm(b)
    assert np.allclose(x, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    assert len(steps) > 0
    with pytest.raises(TypeError):
        akx.cg(a, b, None, 1e-5)
    with pytest.raises(ValueError, match="atol"):
        akx.cg(a, b, atol=None)


def test_leja_shifts_lie_in_the_spectrum_in_leja_order():
    a = poisson2d(16)
    eigenvalues = np.linalg.eigvalsh(a.toarray())
    shifts = akx.leja_shifts(a, 6)
    assert shifts.shape == (6,)
    assert eigenvalues[0] - 1e-9 <= shifts.min() and shifts.max() <= eigenvalues[-1] + 1e-9
    assert abs(shifts[0]) == np.abs(shifts).max()  # Leja order starts at the largest modulus


def test_empty_matrix():
    got = akx.matrix_powers(sparse.csr_array((0, 0)), np.zeros(0), 3)
    assert got.shape == (4, 0)


def test_plan_covers_every_row_level_exactly_once_per_thread_block():
    a = random_matrix(400, 0.01, 16)
    blocks = _akx_plan.contiguous_blocks(a.indptr.astype(np.int64), 3, 50)
    plan = _akx_plan.build(a.indptr.astype(np.int64), a.indices, 5, 2, blocks, max_redundancy=np.inf, max_search=np.inf)
    assert plan.redundancy >= 1.0
    for row, levels in ((0, 5), (1, 2)):
        seen = np.zeros((levels + 1, 400), dtype=int)
        for s in range(plan.chunks[row][0], plan.chunks[row][-1]):
            level, lo, hi = plan.stanzas[s]
            assert 1 <= level <= levels and 0 <= lo < hi <= 400
            seen[level, lo:hi] += 1
        # Every row of every level is computed by at least one thread block (its owner).
        assert (seen[1:] >= 1).all()
