"""Conjugate gradients for asp.akx: a drop-in for :func:`scipy.sparse.linalg.cg` with s-step CG on the
matrix-powers kernel.

Public functions
----------------
- :func:`cg` takes SciPy's arguments (v1.14 onward: keyword-only ``rtol``, ``atol``, ``maxiter``, ``M``,
  ``callback``) and returns ``(x, info)`` as SciPy does, plus ``s`` (steps per matrix-powers call) and
  ``make_operator`` (the native operator's factory).
- :func:`leja_shifts` gives the Newton shifts of the basis.
- :class:`ScipyOperator` is the operator the solver runs on when no native one is available.

What runs
---------
- With a ``native`` solver (asp.akx.cg passes its native CG program), a matrix, no callback and no
  preconditioner or a sparse diagonal one: the native solver, SciPy's loop (``last_solve.method`` is
  ``"native"``); where it cannot run, the cases below.
- Unpreconditioned, with a matrix (sparse or dense): **s-step CG** (below) on the operator's ``powers``.
- With a preconditioner (``M`` or an ``A.psolve`` attribute): PCG on the operator's ``matvec``.
- With a :class:`scipy.sparse.linalg.LinearOperator` ``A``: PCG on ``A.matvec`` in Python.
- Complex ``A``, ``b`` or ``x0``: :func:`scipy.sparse.linalg.cg` itself, after an
  :class:`asp.FallbackWarning` (``ASP_STRICT=1`` raises :class:`asp.SpecializationError` instead).

All iterations compute in float64; the result has SciPy's dtype (float32 when ``A`` and ``b`` are).

The s-step algorithm, and why this one
--------------------------------------
Block CG of Chronopoulos and Gear (J. Comput. Appl. Math. 25, 1989), in a Newton basis. Outer
iteration k starts from the residual r of step sk and keeps the previous direction block ``P`` (s
vectors), ``AP`` (its image, updated by recurrence) and ``W = Pᵀ A P``:

1. one ``powers`` call fills ``V = [r, (A-θ₀)r, …, ∏(A-θᵢ)r]`` (s+1 vectors, s SpMVs); the first s
   span ``R``, and ``A R = V T`` with the (s+1)×s bidiagonal T of the shifts, so ``A R`` costs nothing;
2. one Gram matrix of the contiguous block ``[P; V; AP]`` (3s+1 vectors, one SYRK): it holds
   ``RᵀAR``, ``Rᵀr``, ``Pᵀr``, ``APᵀR``, and with ``G = Z Zᵀ`` for ``Z = [V; AP]`` the norm of any vector
   in span(Z);
3. small algebra: ``B = -W⁻¹ (APᵀR)`` makes the new block ``P' = R + P B`` A-conjugate to the old one
   (and, by the three-term argument, to all earlier ones), ``W' = RᵀAR + (APᵀR)ᵀB``,
   ``m = P'ᵀr = Rᵀr + Bᵀ(Pᵀr)`` (the second term vanishes in exact arithmetic, but Chronopoulos and
   Gear's choice to drop it multiplies the steps 2-D Poisson needs at s = 8 by 25; kept, s = 1..12
   take as many steps as SciPy's CG);
   the Cholesky factor ``W' = L Lᵀ`` gives every intermediate CG iterate at once, because the first j
   columns of ``P'`` span the next j CG directions: ``x_{sk+j} = x_sk + P'[:j] L[:j,:j]⁻ᵀ y[:j]`` with
   ``y = L⁻¹ m``; their residual norms come from G;
4. two small GEMMs form ``P'`` and ``AP' = A R + AP B`` (written next to the next block's basis, so
   step 2 stays one GEMM), one GEMV each updates x and r.

Why: it needs ONE matrix-powers call of s+1 vectors per s steps, against two calls (2s+1 vectors, 2s-1
SpMVs) for the two-term CA-CG of Hoemmen and Carson, and it keeps the directions as explicit vectors
instead of the three-term recurrence of the original ``cg3_ca`` (CG3 is known to lose accuracy
faster, and its iterates depend on x_{j-1}). The intermediate iterates of step 3 make ``callback``
run once per CG step with the true CG iterate, and let the solver stop inside a block at the same
step SciPy would, so ``maxiter`` and ``info`` keep SciPy's meaning exactly.

Accuracy guards: the Newton shifts are Ritz values in Leja order (:func:`leja_shifts`, once per
solve), which keeps the basis far better conditioned than the monomial one. A block takes only its
leading steps whose part of ``W'`` is positive definite with a diagonal-scaled 1-norm condition below
1e10 (the end of a small Krylov space, or too ill-conditioned a basis); each time the recursive
residual has fallen by 1e3 it is compared with the true residual ``b - A x`` (one ``matvec``) and
replaced by it; and the true residual decides every "converged". When a block could take only some
of its steps, when no step is usable, a coefficient is not finite, or the recursive residual drifted
from the true one (by more than half its norm), the solver goes on from the current iterate with
ordinary CG steps on ``matvec`` (restarted from the true residual: keeping the last direction was
tried and converges worse after an inaccurate block). It never returns a non-finite x.
:data:`last_solve` says what ran and why it fell back.

SciPy conventions kept (scipy/sparse/linalg/_isolve/iterative.py, v1.14+)
--------------------------------------------------------------------------
Convergence is ``norm(r) < max(atol, rtol*norm(b))`` (strict), tested before each step; ``b = 0``
returns zeros and 0 even with ``x0``; ``x0`` is never modified and may be ``'Mb'``; ``callback(xk)``
once per step; ``maxiter`` defaults to ``10*n`` and is the ``info`` of a solve that did not converge;
``atol`` None, ``'legacy'`` or negative raise ValueError.

Deliberate differences: convergence is reported only when the true residual meets the tolerance
(SciPy trusts the recursive one); a solve whose last permitted step converged reports 0 (SciPy
reports ``maxiter``); an exact solution (residual exactly 0) reports 0 even with ``rtol = atol = 0``;
a breakdown (``pᵀAp`` zero or a non-finite step length) stops with the last finite iterate and
``info = -10`` (SciPy's code for a breakdown in its other solvers); NaN or infinity in ``A``, ``b`` or
``x0``, a negative or NaN ``rtol``, a negative ``maxiter`` raise ValueError before any work;
``callback`` receives float64 iterates.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Tuple

import numpy as np

__all__ = ["Operator", "ScipyOperator", "SolveRecord", "cg", "leja_shifts", "last_solve"]

_BREAKDOWN = -10
_COND_LIMIT = 1e10  # the largest diagonal-scaled condition of W the s-step coefficients are trusted at
_DRIFT_CHECK = 1e3  # the s-step solver compares its residual with the true one each time it falls by this
_SEED = 0x5EED  # the Lanczos start vector of leja_shifts: fixed, so a solve is reproducible


class Operator(Protocol):
    """What the solver needs of a matrix: SpMV and Newton-basis powers, float64 vectors of length n."""

    n: int
    dtype: np.dtype

    def matvec(self, x: np.ndarray, out: np.ndarray) -> None:
        """``out[:] = A @ x`` (1-D C-contiguous float64)."""

    def powers(self, V: np.ndarray, shifts: np.ndarray) -> None:
        """Rows 1..s of the C-contiguous (s+1, n) V in place from row 0: ``V[i+1] = A@V[i] - shifts[i]*V[i]``."""


class ScipyOperator:
    """The :class:`Operator` of a SciPy sparse matrix: SpMV with ``A @ x``, powers by repeated SpMV.

    Parameters
    ----------
    A : scipy.sparse.csr_array
        A square float64 matrix.
    """

    def __init__(self, A: Any) -> None:
        self._A = A
        self.n = int(A.shape[0])
        self.dtype = np.dtype(np.float64)

    def matvec(self, x: np.ndarray, out: np.ndarray) -> None:
        """``out[:] = A @ x``."""
        np.copyto(out, self._A @ x)

    def powers(self, V: np.ndarray, shifts: np.ndarray) -> None:
        """``V[i+1] = A @ V[i] - shifts[i] * V[i]`` for i = 0..len(V)-2."""
        for i in range(V.shape[0] - 1):
            np.copyto(V[i + 1], self._A @ V[i])
            if shifts[i] != 0.0:
                V[i + 1] -= shifts[i] * V[i]


@dataclass
class SolveRecord:
    """What the last :func:`cg` call (in any thread) did.

    Attributes
    ----------
    method : str
        ``"native"`` (the whole loop in a native solver: asp.akx's CG program), ``"s-step"``, ``"pcg"`` (a
        preconditioner, or a LinearOperator A) or ``"scipy"`` (complex input).
    iterations : int
        CG steps taken.
    blocks : int
        Matrix-powers calls (s-step blocks).
    fallback : str or None
        Why the s-step solver went on with ordinary CG steps, if it did.
    backend : str or None
        The backend the native solver ran on (method ``"native"``).
    """

    method: str
    iterations: int = 0
    blocks: int = 0
    fallback: Optional[str] = None
    backend: Optional[str] = None


last_solve: Optional[SolveRecord] = None


# ---- input validation --------------------------------------------------------------------------


def _is_complex(dtype: Any) -> bool:
    return dtype is not None and np.issubdtype(np.dtype(dtype), np.complexfloating)


def _check_s(s: Any) -> int:
    if isinstance(s, bool) or not isinstance(s, numbers.Integral):
        raise TypeError(f"s must be an integer (the CG steps per matrix-powers call), not {s!r}")
    if s < 1:
        raise ValueError(f"s must be at least 1 (the CG steps per matrix-powers call), not {s}")
    return int(s)


def _check_callback(callback: Any) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable (it is called as callback(xk)), not {callback!r}")


def _check_tolerances(rtol: Any, atol: Any) -> Tuple[float, float]:
    if atol is None or isinstance(atol, (str, bytes)) or not isinstance(atol, numbers.Real) or not atol >= 0:
        raise ValueError(f"cg called with invalid atol={atol!r}: atol must be a real, non-negative number "
                         "(the absolute residual norm to reach; 0 leaves only rtol)")
    if isinstance(rtol, (str, bytes)) or not isinstance(rtol, numbers.Real) or not rtol >= 0:
        raise ValueError(f"cg called with invalid rtol={rtol!r}: rtol must be a real, non-negative number "
                         "(the residual norm to reach relative to norm(b))")
    return float(rtol), float(atol)


def _check_maxiter(maxiter: Any, n: int) -> int:
    if maxiter is None:
        return 10 * n
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
        raise ValueError(f"maxiter must be an integer or None (10*n), not {maxiter!r}")
    if maxiter < 0:
        raise ValueError(f"maxiter must be non-negative, not {maxiter}")
    return int(maxiter)


def _as_csr(A: Any) -> Any:
    """A as a canonical float64 ``csr_array`` (no copy when it is one already)."""
    import scipy.sparse as sparse

    if sparse.issparse(A):
        csr = A if isinstance(A, sparse.csr_array) else sparse.csr_array(A)
    else:
        dense = np.asarray(A)
        if dense.ndim != 2:
            raise ValueError(f"expected 2-D A (a square matrix), got an array of shape {dense.shape}")
        if _is_complex(dense.dtype):
            raise TypeError("A is complex")
        csr = sparse.csr_array(dense.astype(np.float64, copy=False))
    if csr.ndim != 2:
        raise ValueError(f"expected 2-D A (a square matrix), got shape {csr.shape}")
    if csr.dtype != np.float64 or not csr.has_canonical_format:
        csr = sparse.csr_array(csr, dtype=np.float64, copy=True)
        csr.sum_duplicates()
    return csr


def _check_square(shape: Tuple[int, ...]) -> int:
    if len(shape) != 2:
        raise ValueError(f"expected 2-D A (a square matrix), got shape {shape}")
    if shape[0] != shape[1]:
        raise ValueError(f"expected a square matrix A, got shape {shape}: cg solves A x = b for square "
                         "symmetric positive definite A (for least squares use scipy.sparse.linalg.lsqr)")
    return int(shape[0])


def _vector(v: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(v)
    if arr.shape not in ((n,), (n, 1)):
        raise ValueError(f"{what} has shape {arr.shape}, but A is {n}x{n}: pass {what} with shape ({n},) or ({n}, 1)")
    return arr.reshape(n)


def _finite(arr: np.ndarray, what: str) -> None:
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinity: cg needs finite values")


# ---- Leja-ordered Ritz values ------------------------------------------------------------------


def _whole(values: np.ndarray) -> np.ndarray:
    return values


def _ritz_values(matvec: Callable[[np.ndarray, np.ndarray], None], n: int, steps: int, symmetric: bool,
                 total: Callable[[np.ndarray], np.ndarray] = _whole, rows: slice = slice(None),
                 order: Optional[int] = None) -> np.ndarray:
    """Ritz values of ``steps`` Arnoldi (Lanczos when symmetric) steps with full reorthogonalisation.

    Distributed (asp/_akx_mpi.py): the vectors are this part's ``rows`` of vectors of length ``order``,
    and ``total`` sums a partial result over the parts."""
    basis = np.zeros((steps + 1, n))
    hess = np.zeros((steps + 1, steps))
    start = np.random.default_rng(_SEED).standard_normal(n if order is None else order)[rows]

    def norm(v: np.ndarray) -> float:
        return math.sqrt(float(total(np.array(np.dot(v, v)))))

    basis[0] = start / norm(start)
    w = np.empty(n)
    size = steps
    for j in range(steps):
        matvec(basis[j], w)
        wnorm = norm(w)
        q = basis[: j + 1]
        h = total(q @ w)
        w -= h @ q
        h2 = total(q @ w)  # the second pass of classical Gram-Schmidt makes the basis orthogonal to working precision
        w -= h2 @ q
        hess[: j + 1, j] = h + h2
        beta = norm(w)
        hess[j + 1, j] = beta
        if not math.isfinite(beta) or beta <= 1e-12 * wnorm or beta == 0.0:
            size = j + 1  # an invariant subspace: its Ritz values are eigenvalues
            break
        basis[j + 1] = w / beta
    h = hess[:size, :size]
    if not np.isfinite(h).all():
        raise ValueError("A has entries too large for leja_shifts (its Lanczos coefficients overflow)")
    if symmetric:
        return np.linalg.eigvalsh((h + h.T) / 2).astype(complex)
    return np.linalg.eigvals(h)


def _leja_order(values: np.ndarray) -> np.ndarray:
    """The distinct values (complex) in Leja order: largest modulus first, then each maximising the product
    of distances to those before it (computed as a sum of logarithms, so it neither overflows nor underflows)."""
    if values.size == 0:
        return values
    scale = float(np.max(np.abs(values)))
    tol = 1e-10 * scale if scale > 0 else 0.0
    ordered = values[np.lexsort((values.imag, values.real))]
    distinct = [ordered[0]]
    for v in ordered[1:]:
        if min(abs(v - d) for d in distinct) > tol:
            distinct.append(v)
    pts = np.array(distinct)
    chosen = [int(np.argmax(np.abs(pts)))]
    score = np.zeros(pts.size)
    taken = np.zeros(pts.size, dtype=bool)
    for _ in range(1, pts.size):
        last = chosen[-1]
        taken[last] = True
        with np.errstate(divide="ignore"):
            score += np.log(np.abs(pts - pts[last]))
        score[taken] = -np.inf
        chosen.append(int(np.argmax(score)))
    return pts[chosen]


def _leja_shifts(matvec: Callable[[np.ndarray, np.ndarray], None], n: int, k: int, symmetric: bool,
                 total: Callable[[np.ndarray], np.ndarray] = _whole, rows: slice = slice(None),
                 order: Optional[int] = None) -> np.ndarray:
    """Distributed: see _ritz_values (n is then this part's length, order the whole's)."""
    order = n if order is None else order
    if k == 0:
        return np.zeros(0)
    if order == 0:
        return np.zeros(k)
    steps = min(order, max(2 * k, 10))
    ordered = _leja_order(_ritz_values(matvec, n, steps, symmetric, total, rows, order))
    return np.ascontiguousarray(np.resize(ordered.real, k), dtype=np.float64)


def leja_shifts(A: Any, k: int, operator: Optional[Operator] = None) -> np.ndarray:
    """k Newton shifts for the matrix-powers basis of A: Ritz values in Leja order.

    The Ritz values of ``min(n, max(2k, 10))`` Lanczos steps (Arnoldi when A is not symmetric; then the
    real parts of its Ritz values) from a fixed-seed random start, with full reorthogonalisation. Leja
    order: first the value of largest modulus, then each next one maximising the product of distances to
    those already chosen. With fewer distinct Ritz values than k (small n, or a start vector in an
    invariant subspace), the values repeat cyclically in that order.

    Parameters
    ----------
    A : sparse matrix or array_like
        Any square matrix :class:`scipy.sparse.csr_array` accepts (converted to float64).
    k : int
        How many shifts (the basis length s).
    operator : Operator, optional
        An operator of A whose ``matvec`` the Lanczos steps use (a native one); default SciPy's SpMV.

    Returns
    -------
    numpy.ndarray
        The shifts, float64 of length k. For symmetric A they lie in [λmin, λmax].

    Raises
    ------
    ValueError
        A not square or not finite, k negative.
    TypeError
        k not an integer, or A complex.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an integer (the number of shifts), not {k!r}")
    if k < 0:
        raise ValueError(f"k must be non-negative, not {k}")
    if _is_complex(getattr(A, "dtype", None)):
        raise TypeError("leja_shifts needs a real matrix (A is complex)")
    csr = _as_csr(A)
    n = _check_square(csr.shape)
    _finite(csr.data, "A")
    if operator is not None and int(operator.n) != n:
        raise ValueError(f"the operator has n = {operator.n}, but A is {n}x{n}: pass the operator of A")
    diff = csr - csr.T
    scale = float(np.max(np.abs(csr.data))) if csr.nnz else 0.0
    symmetric = diff.nnz == 0 or float(np.max(np.abs(diff.data))) <= 1e-14 * scale
    op = operator if operator is not None else ScipyOperator(csr)
    return _leja_shifts(op.matvec, n, int(k), symmetric)


# ---- the solvers -------------------------------------------------------------------------------


class _Problem:
    """The float64 problem: b, the operator's matvec, the iterate x and the tolerance."""

    def __init__(self, matvec: Callable[[np.ndarray, np.ndarray], None], b: np.ndarray, x: np.ndarray,
                 atol: float, maxiter: int, callback: Optional[Callable[[np.ndarray], Any]],
                 record: SolveRecord, total: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> None:
        self.matvec = matvec
        # The sum over every part of a distributed problem (asp/_akx_mpi.py: over the ranks, the same
        # bits on each); the identity when the vectors are whole.
        self.total = total or _whole
        self.b = b
        self.x = x
        self.atol = atol
        self.maxiter = maxiter
        self.callback = callback
        self.record = record
        self.done = 0

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(self.total(np.array(np.dot(a, b))))

    def true_residual(self, out: np.ndarray) -> float:
        """``out = b - A x`` and its norm."""
        self.matvec(self.x, out)
        np.subtract(self.b, out, out=out)
        return math.sqrt(self.dot(out, out))

    def converged(self, rnorm: float, r: np.ndarray, scratch: np.ndarray) -> bool:
        """Whether the recursive residual r (norm rnorm) and then the true one meet the tolerance; when only
        the recursive one does, r becomes the true residual (residual replacement)."""
        if not (rnorm < self.atol or rnorm == 0.0):
            return False
        tnorm = self.true_residual(scratch)
        if tnorm < self.atol or tnorm == 0.0:
            return True
        np.copyto(r, scratch)
        return False


def _pcg(problem: _Problem, r: np.ndarray, psolve: Optional[Callable[[np.ndarray], np.ndarray]]) -> int:
    """(P)CG steps from problem.x with residual r: SciPy's loop (the same formulas, so the same iterates),
    with a true-residual check before reporting convergence. Returns info."""
    n = r.shape[0]
    x = problem.x
    p = np.empty(n)
    q = np.empty(n)
    scratch = np.empty(n)
    rho_prev = 0.0
    first = True
    while True:
        rnorm = math.sqrt(problem.dot(r, r))
        if problem.converged(rnorm, r, scratch):
            return 0
        if problem.done >= problem.maxiter:
            return problem.maxiter
        z = r if psolve is None else psolve(r)
        rho = problem.dot(r, z)
        if first:
            np.copyto(p, z)
            first = False
        else:
            p *= rho / rho_prev
            p += z
        problem.matvec(p, q)
        pq = problem.dot(p, q)
        alpha = rho / pq if pq != 0.0 else math.inf
        if not math.isfinite(alpha):
            return _BREAKDOWN
        np.multiply(p, alpha, out=scratch)
        x += scratch
        np.multiply(q, alpha, out=scratch)
        r -= scratch
        rho_prev = rho
        problem.done += 1
        problem.record.iterations = problem.done
        if problem.callback is not None:
            problem.callback(x)


class _Fallback(Exception):
    """The s-step basis lost accuracy: go on with ordinary CG steps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _sstep(problem: _Problem, op: Operator, r0: np.ndarray, s: int, shifts: np.ndarray) -> int:
    """s-step CG (module docstring) from problem.x with residual r0; raises _Fallback when the basis loses
    accuracy (problem.x is then a valid iterate). Returns info."""
    n = r0.shape[0]
    x = problem.x
    rows = 3 * s + 1  # [P (s); V (s+1); AP (s)]: [P; R] and Z = [V; AP] are both contiguous
    buffers = (np.zeros((rows, n)), np.zeros((rows, n)))
    cur, nxt = buffers
    cur[s] = r0
    vsl, zsl, prsl, apsl = slice(s, 2 * s + 1), slice(s, 3 * s + 1), slice(0, 2 * s), slice(2 * s + 1, 3 * s + 1)
    # AR = V T: column i of T holds the coordinates of A V[i] = V[i+1] + θ_i V[i].
    idx = np.arange(s)
    coords = np.zeros((2 * s + 1, s))  # AP' = coordsᵀ Z: T on the V rows, B on the AP rows
    coords[idx, idx] = shifts
    coords[idx + 1, idx] = 1.0
    pcoef = np.zeros((s, 2 * s))  # P' = pcoef [P; R]: Bᵀ then the identity
    pcoef[idx, s + idx] = 1.0
    upper = np.triu(np.ones((s, s)))
    scratch = np.empty(n)
    xj = np.empty(n) if problem.callback is not None else None
    have_prev = False
    winv_prev = np.zeros((s, s))
    atol2 = problem.atol * problem.atol
    degraded = False  # the last block could take only its first steps: go on with ordinary ones
    rnorm = math.sqrt(problem.dot(r0, r0))
    check_below = rnorm / _DRIFT_CHECK
    while True:
        r = cur[s]
        if rnorm < problem.atol or rnorm == 0.0:
            if problem.converged(rnorm, r, scratch):
                return 0
            raise _Fallback("the recursive residual met the tolerance, the true residual did not")
        if problem.done >= problem.maxiter:
            return problem.maxiter
        if rnorm < check_below:
            # Each time the residual has fallen by _DRIFT_CHECK, compare it with the true one (one matvec):
            # a small drift is corrected (residual replacement), a large one means the basis lost accuracy.
            tnorm = problem.true_residual(scratch)
            difference = scratch - r
            drift = math.sqrt(problem.dot(difference, difference))
            if not drift <= 0.5 * tnorm:
                raise _Fallback("the recursive residual drifted from the true residual")
            np.copyto(r, scratch)
            rnorm = tnorm
            check_below = rnorm / _DRIFT_CHECK
        if degraded:
            raise _Fallback("the s-step basis is numerically rank-deficient")
        steps = min(s, problem.maxiter - problem.done)
        # 1. the basis; 2. its Gram matrix
        op.powers(cur[vsl], shifts)
        problem.record.blocks += 1
        z = cur[zsl]
        full = problem.total(cur @ cur.T)  # the one Gram matrix, of [P; V; AP] (SYRK): one reduction per block
        gram = full[s:, s:]  # of Z = [V; AP]
        # 3. the coefficients
        rar = gram[:s, 1:s + 1] + gram[:s, :s] * shifts  # Rᵀ A R
        m = gram[:s, 0]  # Rᵀ r
        if have_prev:
            cross = gram[s + 1:, :s]  # APᵀ R
            b_coef = -(winv_prev @ cross)
            w = rar + cross.T @ b_coef
            # P'ᵀ r = Rᵀ r + Bᵀ Pᵀ r: Pᵀ r vanishes in exact arithmetic, but dropping it costs convergence
            # (2-D Poisson 128², s = 8: 9399 steps without it, 365 with it, as many as SciPy's CG)
            m = m + b_coef.T @ full[:s, s]
        else:
            b_coef = np.zeros((s, s))
            w = rar
        w = (w + w.T) * 0.5
        linv, usable = _leading_cholesky_inverse(w)
        if usable == 0:
            raise _Fallback("the s-step Gram matrix is not positive definite")
        y = linv @ m
        steps_a = linv.T @ (y[:, None] * upper)  # column j-1: the coordinates (in P') of x_{sk+j} - x_sk
        coords[s + 1:] = b_coef
        resid = -(coords @ steps_a)
        resid[0] += 1.0  # column j-1: the coordinates (in Z) of r_{sk+j}
        est = np.einsum("ij,ij->j", resid, gram @ resid)
        if not (np.isfinite(steps_a[:, :usable]).all() and np.isfinite(est[:usable]).all()):
            raise _Fallback("the s-step coefficients are not finite")
        # Where SciPy would stop inside the block: the first step whose residual meets the tolerance; and
        # where the basis stops being usable (a Krylov space exhausted, or too ill-conditioned a basis).
        stop = min(steps, usable)
        for j in range(1, stop):
            if est[j - 1] < atol2:
                stop = j
                break
        # 4. the new direction block, its image, and the iterate
        pcoef[:, :s] = b_coef.T
        new_p = nxt[:s]
        np.matmul(pcoef, cur[prsl], out=new_p)
        new_ap = nxt[apsl]
        np.matmul(coords.T, z, out=new_ap)
        a = steps_a[:, stop - 1]
        r_new = nxt[s]
        np.matmul(a, new_ap, out=r_new)
        np.subtract(r, r_new, out=r_new)
        rnorm = math.sqrt(problem.dot(r_new, r_new))
        if not math.isfinite(rnorm):
            raise _Fallback("the s-step residual is not finite")
        if xj is not None:
            for j in range(1, stop):
                np.matmul(steps_a[:, j - 1], new_p, out=xj)
                xj += x
                problem.done += 1
                problem.record.iterations = problem.done
                problem.callback(xj)
        else:
            problem.done += stop - 1
        np.matmul(a, new_p, out=scratch)
        x += scratch
        problem.done += 1
        problem.record.iterations = problem.done
        if problem.callback is not None:
            problem.callback(x)
        if stop == s:
            # P'ᵀ A P' = W, so W⁻¹ = L⁻ᵀ L⁻¹
            winv_prev = linv.T @ linv
            have_prev = True
        else:
            have_prev = False  # a partial block: the next one (if the checks above let it run) starts afresh
        degraded = usable < steps and stop == usable
        cur, nxt = nxt, cur


def _leading_cholesky_inverse(w: np.ndarray) -> Tuple[np.ndarray, int]:
    """(L⁻¹, j): W[:j,:j] = L[:j,:j] L[:j,:j]ᵀ for the largest j whose diagonal-scaled block is positive
    definite with a 1-norm condition below _COND_LIMIT; rows and columns from j on are the identity's.

    LAPACK directly (potrf, trtri): NumPy's linalg costs ten times more per call on an s×s matrix."""
    from scipy.linalg import lapack

    s = w.shape[0]
    diag = np.diagonal(w)
    if not np.isfinite(w).all():
        return np.eye(s), 0
    positive = diag > 0
    usable = s if positive.all() else int(np.argmin(positive))
    d = np.ones(s)
    d[:usable] = 1.0 / np.sqrt(diag[:usable])
    scaled = w * d[:, None] * d[None, :]
    linv = np.eye(s)
    while usable > 0:
        block = scaled[:usable, :usable]
        lower, info = lapack.dpotrf(block, lower=1, clean=1)
        if info > 0:
            usable = info - 1  # the leading minor of order info is not positive definite
            continue
        inverse, info = lapack.dtrtri(lower, lower=1)
        if info != 0:
            usable -= 1
            continue
        # the 1-norm condition of the scaled block: ‖W‖₁ ‖L⁻ᵀL⁻¹‖₁
        cond = float(np.abs(block).sum(axis=0).max()) * float(np.abs(inverse.T @ inverse).sum(axis=0).max())
        if cond <= _COND_LIMIT:
            linv[:usable, :usable] = inverse
            break
        usable -= 1
    return linv * d[None, :], usable  # L = D⁻¹ Lscaled, so L⁻¹ = Lscaled⁻¹ D


def _diagonal_preconditioner(M: Any, n: int) -> Optional[np.ndarray]:
    """The float64 diagonal of M when M is a real sparse matrix with no nonzero off its diagonal and finite
    entries (a Jacobi preconditioner: M @ r is then d * r exactly), else None."""
    import scipy.sparse as sparse

    if not sparse.issparse(M) or tuple(M.shape) != (n, n) or _is_complex(M.dtype):
        return None
    coo = sparse.coo_array(M)
    values = np.asarray(coo.data)
    if np.any((coo.row != coo.col) & (values != 0)) or not np.isfinite(values).all():
        return None
    return np.asarray(M.diagonal(), dtype=np.float64)


def _fall_back_to_scipy(reason: str) -> None:
    import asp

    if asp.strict():
        raise asp.SpecializationError(f"asp.akx.cg: {reason}")
    warnings.warn(f"asp.akx.cg runs scipy.sparse.linalg.cg: {reason}", asp.FallbackWarning, stacklevel=3)


def _char(dtype: Any) -> str:
    """SciPy's coercion class of a dtype: 'f', 'd', 'F' or 'D' (anything else counts as 'd')."""
    char = np.dtype(dtype).char if dtype is not None else "d"
    return char if char in "fdFD" else "d"


def cg(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: Optional[int] = None,
       M: Any = None, callback: Optional[Callable[[np.ndarray], Any]] = None, s: int = 4,
       make_operator: Optional[Callable[[Any], Optional[Operator]]] = None,
       native: Optional[Callable[..., Optional[Tuple[int, int]]]] = None) -> Tuple[np.ndarray, int]:
    """Solve ``A x = b`` for symmetric positive definite A with conjugate gradients, as
    :func:`scipy.sparse.linalg.cg` does (same arguments, results and errors; see the module docstring).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        The N×N symmetric positive definite matrix.
    b : ndarray
        The right-hand side, shape (N,) or (N, 1).
    x0 : ndarray or ``'Mb'``, optional
        The starting guess (never modified); ``'Mb'`` starts from ``M @ b``. Default zeros.
    rtol, atol : float
        Converged when ``norm(b - A @ x) < max(atol, rtol * norm(b))``.
    maxiter : int, optional
        The most CG steps; default ``10 * N``.
    M : sparse matrix, ndarray or LinearOperator, optional
        A symmetric positive definite preconditioner approximating A⁻¹ (``A.psolve`` when absent).
    callback : callable, optional
        Called as ``callback(xk)`` after every CG step (also inside an s-step block).
    s : int
        CG steps per matrix-powers call (1 or more).
    make_operator : callable, optional
        Takes the validated canonical float64 ``scipy.sparse.csr_array`` and returns an :class:`Operator`, or
        None when it has none; default (and fallback) :class:`ScipyOperator`.
    native : callable, optional
        A native CG: ``native(csr, b, x, tol, maxiter, diagonal)`` takes SciPy's steps on x (float64, in
        place; the same loop as here, confirming convergence on the true residual; ``diagonal`` None, or
        the float64 diagonal of a diagonal ``M``) and returns ``(info, steps)``, or None when it cannot run
        (nothing modified). Tried first when A is a matrix, M is absent or a sparse diagonal matrix with
        finite entries, A has no ``psolve`` and there is no callback.

    Returns
    -------
    x : ndarray
        The solution, of SciPy's dtype (float32 when A and b are float32, else float64).
    info : int
        0 when the true residual meets the tolerance, ``maxiter`` when it was not reached,
        -10 after a breakdown.

    Raises
    ------
    ValueError
        Not square, wrong lengths, NaN or infinity in A, b or x0, an invalid tolerance, maxiter or s.
    TypeError
        A positional tolerance (the signature is keyword-only), s not an integer.
    """
    global last_solve
    import scipy.sparse as sparse
    from scipy.sparse.linalg import LinearOperator, aslinearoperator

    s = _check_s(s)
    rtol, atol = _check_tolerances(rtol, atol)
    _check_callback(callback)

    # A: a matrix the s-step solver can run on (csr), or a LinearOperator
    csr = None
    linop = None
    if isinstance(A, LinearOperator):
        linop = A
    elif sparse.issparse(A):
        csr = A
    else:
        dense = np.asarray(A) if not hasattr(A, "matvec") else None
        if dense is not None and dense.dtype != object:
            csr = dense
        else:
            linop = aslinearoperator(A)
    shape = tuple(linop.shape if linop is not None else csr.shape)
    if len(shape) != 2:
        raise ValueError(f"expected 2-D A (a square matrix), got shape {shape}")
    n = _check_square(shape)
    a_dtype = linop.dtype if linop is not None else csr.dtype
    b_arr = np.asarray(b)
    x0_complex = x0 is not None and not isinstance(x0, str) and np.iscomplexobj(x0)
    m_complex = M is not None and _is_complex(getattr(M, "dtype", None))
    if _is_complex(a_dtype) or np.iscomplexobj(b_arr) or x0_complex or m_complex:
        what = "A" if _is_complex(a_dtype) else "b" if np.iscomplexobj(b_arr) else "x0" if x0_complex else "M"
        _fall_back_to_scipy(f"{what} is complex (asp.akx computes with real float64)")
        from scipy.sparse.linalg import cg as scipy_cg

        last_solve = SolveRecord("scipy")
        return scipy_cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback)
    bvec = _vector(b_arr, n, "b")
    xtype = np.float32 if _char(a_dtype) == "f" and _char(bvec.dtype) == "f" else np.float64
    bvec = np.array(bvec, dtype=np.float64)
    _finite(bvec, "b")
    if csr is not None:
        csr = _as_csr(csr)
        _finite(csr.data, "A")

    # the preconditioner
    psolve: Optional[Callable[[np.ndarray], np.ndarray]] = None
    if M is not None:
        mop = aslinearoperator(M)
        if tuple(mop.shape) != (n, n):
            raise ValueError(f"the preconditioner M has shape {mop.shape}, but A is {n}x{n}: pass an {n}x{n} M")

        def psolve(r: np.ndarray) -> np.ndarray:
            return np.asarray(mop.matvec(r), dtype=np.float64).reshape(n)
    elif hasattr(A, "psolve"):
        apsolve = A.psolve

        def psolve(r: np.ndarray) -> np.ndarray:
            return np.asarray(apsolve(r), dtype=np.float64).reshape(n)

    # the starting guess
    if x0 is None:
        x = np.zeros(n)
    elif isinstance(x0, str):
        if x0 != "Mb":
            raise ValueError(f"x0 must be an array, None or 'Mb' (start from M @ b), not {x0!r}")
        x = psolve(bvec.copy()) if psolve is not None else bvec.copy()
        x = np.array(x, dtype=np.float64)
    else:
        x = np.array(_vector(x0, n, "x0"), dtype=np.float64)
    _finite(x, "x0")
    maxiter = _check_maxiter(maxiter, n)

    bnorm = math.sqrt(float(np.dot(bvec, bvec)))
    tol = max(atol, rtol * bnorm)
    record = SolveRecord("s-step" if csr is not None and psolve is None else "pcg")
    last_solve = record
    if bnorm == 0.0:
        return np.zeros(n, dtype=xtype), 0

    diagonal = _diagonal_preconditioner(M, n) if M is not None and not hasattr(A, "psolve") else None
    if (native is not None and csr is not None and callback is None
            and (psolve is None or diagonal is not None)):
        ran = native(csr, bvec, x, tol, maxiter, diagonal)
        if ran is not None:
            info, steps = ran
            last_solve = SolveRecord("native", iterations=steps, backend=getattr(native, "backend", None))
            return x.astype(xtype, copy=False), info

    op: Optional[Operator] = None
    if csr is not None:
        if make_operator is not None:
            op = make_operator(csr)
            if op is not None and int(op.n) != n:
                raise ValueError(f"make_operator returned an operator with n = {op.n} for a {n}x{n} matrix")
        if op is None:
            op = ScipyOperator(csr)
        matvec = op.matvec
    else:
        lin = linop

        def matvec(v: np.ndarray, out: np.ndarray) -> None:
            np.copyto(out, np.asarray(lin.matvec(v)).reshape(n))

    if x.any():
        r = np.empty(n)
        matvec(x, r)
        np.subtract(bvec, r, out=r)
    else:
        r = bvec.copy()
    problem = _Problem(matvec, bvec, x, tol, maxiter, callback, record)
    if record.method == "s-step":
        assert op is not None
        shifts = _leja_shifts(op.matvec, n, s, symmetric=True)
        try:
            info = _sstep(problem, op, r, s, shifts)
        except _Fallback as fallback:
            record.fallback = fallback.reason
            problem.true_residual(r)
            info = _pcg(problem, r, None)
    else:
        info = _pcg(problem, r, psolve)
    return x.astype(xtype, copy=False), info
