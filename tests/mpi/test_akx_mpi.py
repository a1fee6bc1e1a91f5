"""Matrix powers across ranks (asp.akx.MatrixPowers with comm=) against one process on the whole matrix."""

import numpy as np
import pytest
import scipy.sparse as sparse
from mpi4py import MPI

from asp import akx

comm = MPI.COMM_WORLD


def poisson2d(m):
    t = sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    return sparse.csr_array(sparse.kronsum(t, t))


def random_matrix(n, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = sparse.random(n, n, density=4.0 / n, random_state=rng, dtype=dtype) + sparse.eye(n, dtype=dtype)
    return sparse.csr_array(a * dtype(1 / 3))


def rows_of(n, uneven=False):
    """This rank's block of consecutive rows (uneven: rank r holds about r + 1 shares)."""
    weights = np.arange(1, comm.size + 1) if uneven else np.ones(comm.size)
    cuts = np.concatenate([[0], np.round(np.cumsum(weights) / weights.sum() * n)]).astype(int)
    return slice(cuts[comm.rank], cuts[comm.rank + 1])


def global_vector(n, seed=7, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype)


@pytest.mark.parametrize("matrix", ["poisson", "random"])
@pytest.mark.parametrize("uneven", [False, True])
def test_monomial_powers_equal_one_process_bitwise(matrix, uneven):
    A = poisson2d(24) if matrix == "poisson" else random_matrix(500, seed=3)
    n = A.shape[0]
    x = global_vector(n)
    rows = rows_of(n, uneven)
    reference = akx.MatrixPowers(A, 4)(x, 4)
    distributed = akx.MatrixPowers(A[rows], 4, comm=comm)
    got = distributed(x[rows])
    assert got.shape == (5, rows.stop - rows.start)
    np.testing.assert_array_equal(got, reference[:, rows])
    assert distributed.n == n
    assert distributed.last_call.backend is not None


@pytest.mark.parametrize("basis, extra", [("newton", {"shifts": [0.5, 3.0, 1.0]}),
                                          ("chebyshev", {"interval": (0.0, 8.0)})])
def test_other_bases_equal_one_process(basis, extra):
    A = poisson2d(20)
    x = global_vector(A.shape[0], seed=1)
    rows = rows_of(A.shape[0])
    reference = akx.MatrixPowers(A, 3, basis, **extra)(x)
    got = akx.MatrixPowers(A[rows], 3, basis, comm=comm, **extra)(x[rows])
    np.testing.assert_allclose(got, reference[:, rows], rtol=1e-12, atol=1e-12 * np.abs(reference).max())


def test_several_passes_and_spmv_and_powers_in_place():
    A = random_matrix(300, seed=5)
    x = global_vector(300, seed=2)
    rows = rows_of(300, uneven=True)
    reference = akx.MatrixPowers(A, 3)(x, 7)
    obj = akx.MatrixPowers(A[rows], 3, comm=comm)
    np.testing.assert_allclose(obj(x[rows], 7), reference[:, rows], rtol=1e-12)
    np.testing.assert_array_equal(obj.spmv(x[rows]), (A @ x)[rows])
    vecs = np.zeros((4, rows.stop - rows.start))
    vecs[0] = x[rows]
    obj.powers(vecs)
    np.testing.assert_allclose(vecs, reference[:4, rows], rtol=1e-12)


def test_float32():
    A = random_matrix(200, seed=9, dtype=np.float32)
    x = global_vector(200, dtype=np.float32)
    rows = rows_of(200)
    reference = akx.MatrixPowers(A, 2)(x)
    got = akx.MatrixPowers(A[rows], 2, comm=comm)(x[rows])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference[:, rows], rtol=1e-5)


def test_a_rank_with_no_rows():
    A = poisson2d(8)
    n = A.shape[0]
    holders = max(comm.size - 1, 1)  # rank 0 holds nothing when there are others
    cuts = np.linspace(0, n, holders + 1).astype(int)
    mine = comm.rank - (comm.size - holders)
    rows = slice(cuts[mine], cuts[mine + 1]) if mine >= 0 else slice(0, 0)
    x = global_vector(n)
    got = akx.MatrixPowers(A[rows], 2, comm=comm)(x[rows])
    np.testing.assert_array_equal(got, akx.MatrixPowers(A, 2)(x)[:, rows])


def test_bad_input_on_one_rank_raises_on_every_rank():
    A = poisson2d(8)
    rows = rows_of(A.shape[0])
    mine = A[rows]
    if comm.rank == comm.size - 1:
        mine = mine[:, :-1]  # one column short of the global order
    with pytest.raises(ValueError, match="columns"):
        akx.MatrixPowers(mine, 2, comm=comm)
    obj = akx.MatrixPowers(A[rows], 2, comm=comm)
    x = global_vector(A.shape[0])[rows].copy()
    if comm.rank == 0:
        x[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        obj(x)
    with pytest.raises(ValueError, match="give the shifts to MatrixPowers"):
        obj.newton(np.zeros((3, rows.stop - rows.start)), [1.0, 2.0])
    with pytest.raises(ValueError, match="Chebyshev"):
        akx.MatrixPowers(A[rows], 2, "chebyshev", interval=(0, 8), comm=comm)(global_vector(A.shape[0])[rows], 3)


# ---- CG across ranks ----------------------------------------------------------------------------


def spd_random(n, seed):
    rng = np.random.default_rng(seed)
    a = sparse.random(n, n, density=3.0 / n, random_state=rng)
    return sparse.csr_array(a @ a.T + sparse.eye(n) * 2.0)


@pytest.mark.parametrize("matrix, s", [("poisson", 4), ("poisson", 1), ("random", 3)])
def test_cg_equals_one_process(matrix, s):
    from asp import _cg

    A = poisson2d(16) if matrix == "poisson" else spd_random(300, seed=4)
    n = A.shape[0]
    b = global_vector(n, seed=3)
    rows = rows_of(n, uneven=True)
    reference, ref_info = _cg.cg(A, b, rtol=1e-10, s=s)  # the same s-step solver on one process
    steps = _cg.last_solve.iterations
    x, info = akx.cg(A[rows], b[rows], rtol=1e-10, s=s, comm=comm)
    assert (info, ref_info) == (0, 0)
    assert x.shape == (rows.stop - rows.start,)
    assert abs(_cg.last_solve.iterations - steps) <= 1
    np.testing.assert_allclose(x, reference[rows], rtol=0, atol=1e-12 * np.abs(reference).max())
    whole = np.concatenate(comm.allgather(x))
    assert np.linalg.norm(b - A @ whole) <= 1e-10 * np.linalg.norm(b)
    # every rank took the same branches: the same iteration count everywhere
    assert len(set(comm.allgather(_cg.last_solve.iterations))) == 1


def test_cg_maxiter_callback_x0_and_zero_rhs():
    A = poisson2d(12)
    n = A.shape[0]
    rows = rows_of(n)
    b = global_vector(n)[rows]
    calls = []
    x, info = akx.cg(A[rows], b, maxiter=1, s=4, comm=comm, callback=lambda xk: calls.append(xk.copy()))
    assert info == 1 and len(calls) == 1
    x0 = np.ones(rows.stop - rows.start)
    x, info = akx.cg(A[rows], b, x0=x0, rtol=1e-8, comm=comm)
    assert info == 0 and (x0 == 1).all()
    x, info = akx.cg(A[rows], np.zeros_like(b), comm=comm)
    assert info == 0 and not x.any()


def test_cg_bad_input_on_one_rank_raises_everywhere():
    A = poisson2d(8)
    rows = rows_of(A.shape[0])
    b = global_vector(A.shape[0])[rows].copy()
    if comm.rank == 0:
        b[-1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        akx.cg(A[rows], b, comm=comm)
    with pytest.raises(ValueError, match="preconditioner"):
        akx.cg(A[rows], b, M=sparse.eye(A.shape[0]), comm=comm)
