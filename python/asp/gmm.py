"""Gaussian mixture models trained by EM, specialized to native code.

Two APIs over one engine:

- :class:`GMM`, the original Asp GMM specializer's API (Cook, Gonina and
  Kamil, 2011): ``GMM(M, D, cvtype='diag')``, ``train(X)`` returning the total
  log-likelihood, ``eval``, ``score``, ``predict``, ``components``, and
  :func:`compute_distance_BIC` for agglomerative clustering;
- :class:`GaussianMixture`, scikit-learn's estimator of the same name (a
  subclass of it): the same constructor, attributes and methods, with EM,
  scoring and prediction run natively.

The first training for an events dtype (float32 or float64) hands EM to the
``gmm`` plugin: a program of hand-written kernels (the E-step and the
M-step's statistics fused into one pass over the events, the M-step's
Cholesky factorisations, the E-step that keeps per-event results) whose
iteration loop and convergence test run natively. Where nothing can
specialize it, EM runs as NumPy after an :class:`asp.FallbackWarning` that
says why (``ASP_STRICT=1`` raises :class:`asp.SpecializationError` instead).
Each instance's ``last_call`` says what ran.

Both take ``comm=`` (an mpi4py communicator) for training on events spread
over MPI ranks: each rank passes its shard, the program sums the sufficient
statistics over the ranks after every pass, and every rank ends with the same
model (README, "Distributed training").
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

import asp
from asp.stencil import LastCall

__all__ = ["GMM", "GMMComponents", "GaussianMixture", "LastCall", "compute_distance_BIC"]

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_FEATURE_MULTIPLE = 4  # plugins/gmm: the padding of the feature axis
_COMPONENT_MULTIPLE = 16  # and of the component axis
_LOG_2PI = math.log(2 * math.pi)
# Backends whose GMM variants are the original's separate E-step and M-step
# kernels (the M-step statistics in the original's CUDA strategies); the
# others run each EM iteration as one fused pass.
_SPLIT_STEPS = ("cuda",)


def _em_program(X, shift, weights, means, covars, pchol, W, S, logprob, resp, bounds, result, final, ctype, tol, reg,
                min_iter, max_iter, original, prev, have_prev, init, fused, mpi_comm, total_n):
    """EM training of a Gaussian mixture: the plugin 'gmm' specializes it (its body is the plugin's program)."""


@dataclass
class _Fit:
    """What one run of EM leaves: parameters (covariances and precision
    Cholesky factors as full (M, D, D) matrices whatever the type), per-event
    results of the last E-step, and the loop's outcome."""

    weights: np.ndarray
    means: np.ndarray
    covars: np.ndarray
    pchol: np.ndarray
    logprob: np.ndarray
    resp: np.ndarray
    bounds: np.ndarray
    lower_bound: float
    n_iter: int
    converged: bool
    final: float
    failed: int  # the first component whose covariance is not positive definite, + 1; 0 when none


def _features(d: int, ctype: int) -> int:
    return 1 + 2 * d if ctype == 2 else 2 + d if ctype == 3 else 1 + d + d * (d + 1) // 2


def _round_up(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


class _Ranks:
    """The ranks of a distributed training (an mpi4py communicator) and the sums over them.

    Sums are reduced on rank 0 and broadcast, as the core's allreduce_sum does,
    so every rank gets the same bits and takes the same branches after them."""

    def __init__(self, comm: Any) -> None:
        from asp import _mpi

        self.comm = comm
        self.handle = _mpi.handle(comm)
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def sum(self, value: Any) -> Any:
        return self.comm.bcast(self.comm.reduce(value, root=0), root=0)

    def shards(self, X: np.ndarray) -> np.ndarray:
        """Every rank's (events, features), the same on every rank."""
        return np.array(self.comm.allgather(X.shape if X.ndim == 2 else (X.shape[0] if X.ndim else 0, -1)))

    def check(self, shapes: np.ndarray, features: int, components: Optional[int] = None) -> int:
        """Raises the same ValueError on every rank for shards that cannot train together; the events of all."""
        for rank, (n, d) in enumerate(shapes):
            if d != features:
                raise ValueError(f"rank {rank}'s shard has {d} features where {features} are expected")
        for rank, (n, d) in enumerate(shapes):
            if n < 1:
                raise ValueError(f"rank {rank}'s shard has no events: give every rank at least one")
        total = int(shapes[:, 0].sum())
        if components is not None and total < components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {components}, "
                             f"n_samples = {total} (all ranks together)")
        return total


def _collective(ranks: Optional[_Ranks]):
    from asp import _mpi

    return _mpi.collective(None if ranks is None else ranks.comm)


class _Engine:
    """Runs EM for one model: natively through the gmm plugin (one
    specialization per events dtype, shared by the instances of a class), or
    with NumPy where that is not possible."""

    _specialized: dict = {}  # dtype -> asp.Specialized, or a str: why not

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._warned: set = set()
        self.last_call: Optional[LastCall] = None

    def _native(self, dtype: np.dtype, arguments: dict) -> Any:
        specialized = _Engine._specialized.get(dtype)
        if specialized is None:
            try:
                specialized = asp.specialize("gmm", _em_program, arguments)
            except asp.UnsupportedError as error:
                specialized = error.reason
            except (asp.CompileError, RuntimeError) as error:
                if asp.strict():
                    raise
                specialized = f"the gmm program could not be built: {error}"
            _Engine._specialized[dtype] = specialized
        return specialized

    def _fall_back(self, reason: str) -> None:
        if asp.strict():
            raise asp.SpecializationError(f"{self._owner}: {reason}")
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"{self._owner} runs EM with NumPy: {reason}", asp.FallbackWarning, stacklevel=4)

    def run(self, X: np.ndarray, weights: np.ndarray, means: np.ndarray, pchol: np.ndarray, ctype: int, *,
            tol: float, reg: float, min_iter: int, max_iter: int, original: bool = False,
            prev: Optional[float] = None, init_resp: Optional[np.ndarray] = None,
            ranks: Optional[_Ranks] = None, total_n: int = 0) -> _Fit:
        """EM from (weights, means, pchol) on X (C-contiguous float32 or float64), or, given
        init_resp (n, m), from the parameters an M-step gives for those responsibilities (then, with
        max_iter 0, the native program skips the final E-step: logprob and resp are not results).
        With ranks, X is this rank's shard of total_n events and the statistics are every rank's;
        the per-event results are the shard's, final is the mean over all events."""
        n, d = X.shape
        m = weights.shape[0]
        weights = np.array(weights, dtype=np.float64, order="C")
        means = np.array(means, dtype=np.float64, order="C").reshape(m, d)
        pchol = np.array(pchol, dtype=np.float64, order="C").reshape(m, d, d)
        covars = np.zeros((m, d, d))
        iterations = max(int(max_iter), 0)
        bounds = np.zeros(max(iterations, 1))
        if asp.disabled():
            self.last_call = LastCall(None, None, "ASP_DISABLE is set")
            return _numpy_em(X, weights, means, pchol, ctype, tol, reg, min_iter, iterations, original, prev, init_resp,
                             ranks, total_n)
        kp = _round_up(_features(d, ctype), _FEATURE_MULTIPLE)
        mp = _round_up(m, _COMPONENT_MULTIPLE)
        result = np.zeros(4)
        final = np.zeros(1)
        arguments = {
            "X": X, "shift": (weights[:, None] * means).sum(axis=0) / max(weights.sum(), 1e-300),  # no BLAS call: its threads would spin next to the kernels
            "weights": weights, "means": means, "covars": covars, "pchol": pchol,
            "W": np.zeros((kp, mp), dtype=X.dtype), "S": np.zeros((kp, mp)),
            "logprob": np.empty(n, dtype=X.dtype),
            "resp": np.empty((n, m), dtype=X.dtype) if init_resp is None else np.array(init_resp, dtype=X.dtype, order="C"),
            "bounds": bounds, "result": result, "final": final, "ctype": int(ctype), "tol": float(tol), "reg": float(reg),
            "min_iter": int(min_iter), "max_iter": iterations, "original": int(bool(original)),
            "prev": float(prev) if prev is not None else 0.0, "have_prev": int(prev is not None),
            "init": int(init_resp is not None), "fused": 1,
            "mpi_comm": ranks.handle if ranks else -1, "total_n": int(total_n) if ranks else n,
        }
        specialized = self._native(X.dtype, arguments)
        if ranks is not None:  # every rank runs the same engine, or the ranks' collectives would not pair up
            reasons = [r for r in ranks.comm.allgather(specialized if isinstance(specialized, str) else None) if r]
            if reasons and not isinstance(specialized, str):
                specialized = f"another rank runs EM with NumPy: {reasons[0]}"
        if isinstance(specialized, str):
            self._fall_back(specialized)
            self.last_call = LastCall(None, None, specialized)
            return _numpy_em(X, weights, means, pchol, ctype, tol, reg, min_iter, iterations, original, prev, init_resp,
                             ranks, total_n)
        arguments["fused"] = int(specialized.backend not in _SPLIT_STEPS)
        variant = specialized(*arguments.values())
        self.last_call = LastCall(specialized.backend, specialized.variants[variant], None)
        n_iter = int(result[1])
        mean = float(final[0]) if ranks is None else ranks.sum(float(final[0]) * n) / total_n
        return _Fit(weights, means, covars, pchol, arguments["logprob"], arguments["resp"], bounds[:n_iter],
                    float(result[0]) if n_iter or prev is not None else -math.inf, n_iter, bool(result[2]),
                    mean, int(result[3]))


# ---- the NumPy reference (and fallback) ---------------------------------------------------------


def _log_density(X: np.ndarray, weights: np.ndarray, means: np.ndarray, pchol: np.ndarray) -> np.ndarray:
    """log w_c + log N(x | mean_c, (pchol_c pchol_c^T)^-1) per event and component, in float64."""
    n, d = X.shape
    out = np.empty((n, weights.shape[0]))
    Xd = X.astype(np.float64, copy=False)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    for c in range(weights.shape[0]):
        y = (Xd - means[c]) @ pchol[c]
        out[:, c] = -0.5 * (d * _LOG_2PI + np.sum(y * y, axis=1)) + np.sum(np.log(np.diag(pchol[c]))) + log_weights[c]
    return out


def _e_step(X, weights, means, pchol) -> Tuple[np.ndarray, np.ndarray]:
    """Per-event log-likelihood and responsibilities."""
    log_prob = _log_density(X, weights, means, pchol)
    top = log_prob.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        lse = (top + np.log(np.exp(log_prob - top).sum(axis=1, keepdims=True)))[:, 0]
        resp = np.exp(log_prob - lse[:, None])
    return lse, resp


def _precision_factor(covariance: np.ndarray) -> np.ndarray:
    """The upper triangular P with P P^T = covariance^-1, as scikit-learn's precisions_cholesky_
    (numpy.linalg.LinAlgError when the covariance is not positive definite)."""
    d = covariance.shape[0]
    return np.triu(np.linalg.solve(np.linalg.cholesky(covariance), np.eye(d)).T)


def _m_step(X, resp, ctype, reg, original, ranks: Optional[_Ranks] = None):
    """scikit-learn's M-step (and the original's zero covariance for a count below 1):
    (weights, means, covars (M, D, D), pchol (M, D, D), failed component + 1 or 0).
    With ranks, X and resp are this rank's shard and every sum is over all ranks."""
    total = (lambda value: value) if ranks is None else ranks.sum
    Xd = X.astype(np.float64, copy=False)
    n, d = Xd.shape
    s0 = total(resp.sum(axis=0))
    nk = s0 + 10 * np.finfo(X.dtype).eps
    means = total(resp.T @ Xd) / nk[:, None]
    m = nk.shape[0]
    covars = np.zeros((m, d, d))
    if ctype == 1:
        shared = (total(Xd.T @ Xd) - (nk * means.T) @ means) / nk.sum()
        covars[:] = shared
    for c in range(m):
        if ctype == 1 or (original and s0[c] < 1):  # s0 is every rank's: all ranks skip the same sums
            continue
        diff = Xd - means[c]
        if ctype == 0:
            covars[c] = total((resp[:, c] * diff.T) @ diff) / nk[c]
        else:
            variances = total(resp[:, c] @ (Xd * Xd)) / nk[c] - means[c] ** 2
            covars[c] = np.diag(variances if ctype == 2 else np.full(d, variances.mean()))
    covars[:, np.arange(d), np.arange(d)] += reg
    pchol = np.zeros_like(covars)
    for c in range(m):
        try:
            if ctype in (2, 3):
                if np.any(np.diag(covars[c]) <= 0):
                    raise np.linalg.LinAlgError
                pchol[c] = np.diag(1 / np.sqrt(np.diag(covars[c])))
            else:
                pchol[c] = _precision_factor(covars[c])
        except np.linalg.LinAlgError:
            return None, None, None, None, c + 1
    return nk / nk.sum(), means, covars, pchol, 0


def _numpy_em(X, weights, means, pchol, ctype, tol, reg, min_iter, max_iter, original, prev, init_resp=None,
              ranks: Optional[_Ranks] = None, total_n: int = 0) -> _Fit:
    """EM as the native program runs it (plugins/gmm/src/plugin.cpp), in NumPy and float64
    (with ranks, on this rank's shard of total_n events, the sums over all ranks)."""
    d = X.shape[1]
    covars = np.zeros((weights.shape[0], d, d))
    mean = (lambda lse: lse.mean()) if ranks is None else (lambda lse: ranks.sum(lse.sum()) / total_n)
    if init_resp is not None:
        new = _m_step(X, np.asarray(init_resp, dtype=np.float64), ctype, reg, original, ranks)
        if new[4]:
            lse, resp = _e_step(X, weights, means, pchol)
            return _Fit(weights, means, covars, pchol, lse, resp, np.zeros(0), -math.inf, 0, False, 0.0, new[4])
        weights, means, covars, pchol = new[:4]
    lower_bound = prev if prev is not None else -math.inf
    bounds, converged, failed, n_iter = [], False, 0, 0
    for it in range(max_iter):
        lse, resp = _e_step(X, weights, means, pchol)
        likelihood = float(mean(lse))
        change = abs(likelihood - lower_bound) if (it > 0 or prev is not None) else math.inf
        lower_bound = likelihood
        bounds.append(lower_bound)
        n_iter = it + 1
        new = _m_step(X, resp, ctype, reg, original, ranks)
        if new[4]:
            failed = new[4]
            break
        weights, means, covars, pchol = new[:4]
        if change < tol or (original and change == tol):
            if n_iter >= min_iter:
                converged = True
                break
    lse, resp = _e_step(X, weights, means, pchol)
    return _Fit(weights, means, covars, pchol, lse.astype(X.dtype), resp.astype(X.dtype), np.array(bounds),
                lower_bound, n_iter, converged, float(mean(lse)), failed)


# ---- covariance layouts ------------------------------------------------------------------------


def _to_full(values: np.ndarray, ctype: int, m: int, d: int) -> np.ndarray:
    """scikit-learn's layout of covariances or precision factors -> (M, D, D)."""
    values = np.asarray(values, dtype=np.float64)
    if ctype == 0:
        return values.reshape(m, d, d).copy()
    if ctype == 1:
        return np.broadcast_to(values.reshape(d, d), (m, d, d)).copy()
    if ctype == 2:
        full = np.zeros((m, d, d))
        full[:, np.arange(d), np.arange(d)] = values.reshape(m, d)
        return full
    return np.eye(d)[None, :, :] * values.reshape(m)[:, None, None]


def _from_full(values: np.ndarray, ctype: int) -> np.ndarray:
    """(M, D, D) -> scikit-learn's layout for the covariance type."""
    if ctype == 0:
        return values
    if ctype == 1:
        return values[0]
    if ctype == 2:
        return np.ascontiguousarray(np.diagonal(values, axis1=1, axis2=2))
    return values[:, 0, 0].copy()


def _events(X: Any, dtype: Any = None) -> np.ndarray:
    """X as a C-contiguous float32 or float64 array (copied where it is not)."""
    X = np.asarray(X)
    if dtype is not None:
        X = X.astype(dtype, copy=False)
    elif X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return np.ascontiguousarray(X)


# ---- the original API --------------------------------------------------------------------------


class GMMComponents:
    """The parameters of a mixture: ``weights`` (M,), ``means`` (M, D), ``covars`` (M, D, D)."""

    def __init__(self, M: int, D: int, weights=None, means=None, covars=None, dtype: Any = np.float32) -> None:
        self.M, self.D = M, D
        self.weights = None if weights is None else np.asarray(weights, dtype=dtype).reshape(M)
        self.means = None if means is None else np.asarray(means, dtype=dtype).reshape(M, D)
        self.covars = None if covars is None else np.asarray(covars, dtype=dtype).reshape(M, D, D)


class GMM:
    """A Gaussian mixture with the original Asp API.

    Parameters
    ----------
    M, D : int
        Components and dimensions.
    cvtype : {'diag', 'full'}
        Diagonal or full covariances; anything else raises ValueError.
    means, covars, weights : array_like, optional
        Initial parameters, (M, D), (M, D, D) and (M,); when all are left
        out, the first ``train`` seeds them from the data as the original did.
    dtype : float32 (default, as the original) or float64
        The type EM computes the events in.
    comm : mpi4py communicator, optional
        Distributed training: ``train`` takes this rank's shard of the events
        and every rank of ``comm`` must call it; the model (seeding included)
        is then one process's on all the shards concatenated in rank order,
        the same on every rank. ``eval``, ``score``, ``predict`` and
        ``decode`` score the events a rank passes, on that rank alone.
    """

    def __init__(self, M: int, D: int, cvtype: str = "diag", means=None, covars=None, weights=None,
                 dtype: Any = np.float32, comm: Any = None) -> None:
        if cvtype not in ("diag", "full"):
            raise ValueError(f"Specified cvtype {cvtype!r} is not allowed, try one of 'diag', 'full'")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, not {np.dtype(dtype)}")
        if int(M) < 1 or int(D) < 1:
            raise ValueError(f"a GMM needs M >= 1 and D >= 1, got M={M}, D={D}")
        self.M, self.D, self.cvtype, self.dtype = int(M), int(D), cvtype, np.dtype(dtype)
        self._ctype = 2 if cvtype == "diag" else 0
        self.components = GMMComponents(self.M, self.D, weights, means, covars, self.dtype)
        given = [p is not None for p in (weights, means, covars)]
        if any(given) and not all(given):
            raise ValueError("give all of means, covars and weights, or none of them (the first train seeds them)")
        self._seeded = all(given)
        self._ranks = None if comm is None else _Ranks(comm)
        self._engine = _Engine("GMM")
        self._posteriors: Optional[np.ndarray] = None

    @property
    def last_call(self) -> Optional[LastCall]:
        """What the most recent train or eval ran (backend, variant, fallback reason)."""
        return self._engine.last_call

    def _check(self, X: Any) -> np.ndarray:
        X = _events(X, self.dtype)
        if X.ndim != 2 or X.shape[1] != self.D:
            raise ValueError(f"data has {X.shape[-1] if X.ndim else 0} features, the model expects {self.D}")
        if X.shape[0] < 1:
            raise ValueError("no events to train on or to evaluate")
        if not np.all(np.isfinite(X)):
            raise ValueError("the data contains NaN or infinity")
        return X

    def _moments(self, X: np.ndarray, total: int) -> Tuple[np.ndarray, np.ndarray]:
        """The mean and the sum of squared deviations of every feature, over all ranks' events."""
        Xd = X.astype(np.float64)
        if self._ranks is None:
            mean = Xd.mean(axis=0)
            return mean, ((Xd - mean) ** 2).sum(axis=0)
        mean = self._ranks.sum(Xd.sum(axis=0)) / total
        return mean, self._ranks.sum(((Xd - mean) ** 2).sum(axis=0))

    def _seed(self, X: np.ndarray, total: int) -> None:
        """The original's seeding: mean_0 = the data's mean, mean_c = X[c N/M]; covariances diag(unbiased variance) / M.
        With comm, N and the rows are those of all ranks' shards in rank order."""
        Xd = X.astype(np.float64)
        rows = np.arange(self.M) * (total // self.M)
        if self._ranks is None:
            means = Xd[rows].copy()
        else:
            first = int(self._ranks.shards(X)[: self._ranks.rank, 0].sum())
            mine = (rows >= first) & (rows < first + X.shape[0])
            means = np.zeros((self.M, self.D))
            means[mine] = Xd[rows[mine] - first]
            means = self._ranks.sum(means)  # each row comes from one rank, zeros from the others
        mean, squares = self._moments(X, total)
        means[0] = mean
        variance = squares / (total - 1) if total > 1 else np.ones(self.D)
        covars = np.zeros((self.M, self.D, self.D))
        covars[:, np.arange(self.D), np.arange(self.D)] = variance / self.M
        self.components = GMMComponents(self.M, self.D, np.full(self.M, 1.0 / self.M), means, covars, self.dtype)
        self._seeded = True

    def _precision_factors(self) -> np.ndarray:
        covars = self.components.covars.astype(np.float64)
        if self._ctype == 2:
            covars = np.eye(self.D) * np.diagonal(covars, axis1=1, axis2=2)[:, None, :]
        pchol = np.empty_like(covars)
        for c in range(self.M):
            try:
                pchol[c] = _precision_factor(covars[c])
            except np.linalg.LinAlgError:
                raise ValueError(f"the covariance of component {c} is not positive definite") from None
        return pchol

    def _run(self, X: np.ndarray, min_iter: int, max_iter: int, total: int = 0) -> _Fit:
        """EM on X; with total (training with comm), X is this rank's shard of total events."""
        ranks = self._ranks if total else None
        n = total or X.shape[0]
        avgvar = float(np.mean(self._moments(X, total)[1] / n)) if ranks else float(np.mean(X.astype(np.float64).var(axis=0)))
        avgvar /= 1e6
        epsilon = (1 + self.D + 0.5 * (self.D + 1) * self.D) * math.log(n * self.D) * 1e-4
        fit = self._engine.run(X, self.components.weights, self.components.means, self._precision_factors(),
                               self._ctype, tol=epsilon / n, reg=avgvar, min_iter=min_iter,
                               max_iter=max(min_iter, max_iter), original=True, ranks=ranks, total_n=n)
        if fit.failed:
            raise ValueError(f"the covariance of component {fit.failed - 1} is not positive definite; "
                             "scale the data or use fewer components")
        return fit

    def train(self, input_data: Any, min_em_iters: int = 1, max_em_iters: int = 10) -> float:
        """EM on the data, from the current parameters (seeded on the first call when none were given).

        Returns the total (summed over events) log-likelihood after training. With comm, every rank
        passes its shard (at least one event each); a shard that cannot train makes every rank raise."""
        if self._ranks is None:
            X = self._check(input_data)
            total = X.shape[0]
            if not self._seeded:
                self._seed(X, total)
            fit = self._run(X, int(min_em_iters), int(max_em_iters))
        else:
            with _collective(self._ranks):
                X = _events(input_data, self.dtype)
                if X.ndim == 2 and not np.all(np.isfinite(X)):
                    raise ValueError("the data contains NaN or infinity")
            total = self._ranks.check(self._ranks.shards(X), self.D)
            if not self._seeded:
                self._seed(X, total)
            # No collective() around a run: it communicates, and what fails in it (a covariance
            # that is not positive definite) fails on every rank, whose statistics are the same.
            fit = self._run(X, int(min_em_iters), int(max_em_iters), total)
        self.components = GMMComponents(self.M, self.D, fit.weights, fit.means, fit.covars, self.dtype)
        self._posteriors = fit.resp
        return float(fit.final * total)

    def eval(self, obs_data: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Per-event log-likelihood (N,) and posterior probabilities (M, N), component-major."""
        X = self._check(obs_data)
        if not self._seeded:
            raise ValueError("the model has no parameters yet: train it or give means, covars and weights")
        fit = self._run(X, 0, 0)
        return fit.logprob, np.ascontiguousarray(fit.resp.T)

    def score(self, obs_data: Any) -> np.ndarray:
        """Per-event log-likelihood, shape (N,)."""
        return self.eval(obs_data)[0]

    def predict(self, obs_data: Any) -> np.ndarray:
        """The most likely component of each event, shape (N,)."""
        return self.eval(obs_data)[1].argmax(axis=0)

    def decode(self, obs_data: Any) -> Tuple[np.ndarray, np.ndarray]:
        """(log-likelihood per event, most likely component per event)."""
        logprob, posteriors = self.eval(obs_data)
        return logprob, posteriors.argmax(axis=0)


def compute_distance_BIC(gmm1: GMM, gmm2: GMM, data: Any, em_iters: int = 10) -> Tuple[GMM, float]:
    """Merges two models and scores the merge (the diarizer's criterion).

    The merged model has M1 + M2 components (weights scaled by M1/(M1+M2) and
    M2/(M1+M2), means and covariances concatenated) and is trained on the
    data. `data` is either one array, as in the original API: the score is
    the merged model's log-likelihood minus the sum of the two models' on
    the same data; or a pair (data1, data2), the frames each model stands
    for: the score is the merged model's log-likelihood on both minus
    gmm1's on data1 and gmm2's on data2 (Ajmera's BIC with equal parameter
    counts: positive means the two are better explained as one)."""
    if gmm1.D != gmm2.D or gmm1.cvtype != gmm2.cvtype:
        raise ValueError("both models need the same dimension and covariance type")
    if isinstance(data, tuple):
        first, second = data
        union = np.concatenate([np.asarray(first), np.asarray(second)])
    else:
        first = second = union = data
    m1, m2 = gmm1.M, gmm2.M
    total = m1 + m2
    weights = np.concatenate([gmm1.components.weights * (m1 / total), gmm2.components.weights * (m2 / total)])
    means = np.concatenate([gmm1.components.means, gmm2.components.means])
    covars = np.concatenate([gmm1.components.covars, gmm2.components.covars])
    merged = GMM(total, gmm1.D, gmm1.cvtype, means=means, covars=covars, weights=weights, dtype=gmm1.dtype)
    merged_likelihood = merged.train(union, max_em_iters=em_iters)
    separate = float(np.sum(gmm1.score(first), dtype=np.float64)) + float(np.sum(gmm2.score(second), dtype=np.float64))
    return merged, merged_likelihood - separate


# ---- the scikit-learn estimator ----------------------------------------------------------------

try:
    from sklearn.mixture import GaussianMixture as _SklearnGaussianMixture
    from sklearn.utils.validation import check_is_fitted, validate_data
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import check_random_state
except ImportError:  # scikit-learn is optional: GMM works without it
    _SklearnGaussianMixture = None

if _SklearnGaussianMixture is not None:

    class GaussianMixture(_SklearnGaussianMixture):
        """scikit-learn's GaussianMixture with EM, scoring and prediction run natively.

        Constructor, defaults, attributes and methods are scikit-learn's (see
        :class:`sklearn.mixture.GaussianMixture`); initialisation (k-means and
        the other ``init_params``, ``n_init``, ``warm_start``) is too. The EM
        loop of each initialisation runs as one native program; so do
        ``score_samples``, ``score``, ``predict`` and ``predict_proba``.
        ``last_call`` says what the most recent of them ran.

        ``comm`` (an mpi4py communicator, the one parameter scikit-learn's
        estimator lacks) makes ``fit`` distributed: every rank of ``comm``
        calls it with its shard of the events; the EM statistics are summed
        over the ranks each iteration and every rank ends with the same
        attributes (``converged_``, ``n_iter_``, ``lower_bound_`` included),
        one process's fit on all shards from the same initial parameters. The
        initialisation runs on the rank with the most events (the first of
        them), from its shard, and is broadcast: give ``means_init``,
        ``weights_init`` and ``precisions_init`` for one that does not depend
        on how the events are split. Scoring and prediction are per rank, on
        the events a rank passes (``score`` is their mean).
        """

        _parameter_constraints = {**_SklearnGaussianMixture._parameter_constraints, "comm": "no_validation"}

        def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                     n_init=1, init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
                     random_state=None, warm_start=False, verbose=0, verbose_interval=10, comm=None):
            super().__init__(n_components=n_components, covariance_type=covariance_type, tol=tol,
                             reg_covar=reg_covar, max_iter=max_iter, n_init=n_init, init_params=init_params,
                             weights_init=weights_init, means_init=means_init, precisions_init=precisions_init,
                             random_state=random_state, warm_start=warm_start, verbose=verbose,
                             verbose_interval=verbose_interval)
            self.comm = comm

        def _engine(self) -> _Engine:
            engine = self.__dict__.get("_asp_engine")
            if engine is None:
                engine = self.__dict__["_asp_engine"] = _Engine("GaussianMixture")
            return engine

        @property
        def last_call(self) -> Optional[LastCall]:
            """What the most recent fit or scoring ran (backend, variant, fallback reason)."""
            engine = self.__dict__.get("_asp_engine")
            return engine.last_call if engine else None

        def _run(self, X: np.ndarray, max_iter: int, prev: Optional[float], ranks: Optional[_Ranks] = None,
                 total_n: int = 0) -> _Fit:
            ctype = _COVARIANCE_TYPES.index(self.covariance_type)
            m, d = self.means_.shape
            pchol = _to_full(self.precisions_cholesky_, ctype, m, d)
            return self._engine().run(_events(X), np.asarray(self.weights_), np.asarray(self.means_), pchol, ctype,
                                      tol=self.tol, reg=self.reg_covar, min_iter=1, max_iter=max_iter, prev=prev,
                                      ranks=ranks, total_n=total_n)

        def _initialize_everywhere(self, X: np.ndarray, random_state, ranks: _Ranks, root: int) -> None:
            """scikit-learn's initialisation on rank `root`, from its shard, then its parameters on every rank."""
            with _collective(ranks):
                if ranks.rank == root:
                    self._initialize_parameters(X, random_state, xp=np)
            names = ("weights_", "means_", "covariances_", "precisions_cholesky_")
            values = ranks.comm.bcast([getattr(self, name, None) for name in names] if ranks.rank == root else None,
                                      root=root)
            for name, value in zip(names, values):
                if value is not None:
                    setattr(self, name, value)

        def _initialize(self, X, resp, xp=None):
            """scikit-learn's initialisation from responsibilities (k-means labels, random ones, ...), with its
            M-step run natively: on large data the initial M-step costs as much as several EM iterations."""
            if resp is None or self.precisions_init is not None:  # the covariances are not needed
                return super()._initialize(X, resp, xp=xp)
            m, d = resp.shape[1], X.shape[1]
            ctype = _COVARIANCE_TYPES.index(self.covariance_type)
            fit = self._engine().run(_events(X), np.full(m, 1.0 / m), np.zeros((m, d)), np.broadcast_to(np.eye(d), (m, d, d)),
                                     ctype, tol=self.tol, reg=self.reg_covar, min_iter=1, max_iter=0, init_resp=resp)
            if fit.failed:
                return super()._initialize(X, resp, xp=xp)  # scikit-learn's own error, word for word
            dtype = X.dtype
            self.weights_ = (fit.weights.astype(dtype) if self.weights_init is None else self.weights_init)
            self.means_ = fit.means.astype(dtype) if self.means_init is None else self.means_init
            self.covariances_ = _from_full(fit.covars, ctype).astype(dtype)
            self.precisions_cholesky_ = _from_full(fit.pchol, ctype).astype(dtype)

        def _keep(self, fit: _Fit, dtype: np.dtype) -> None:
            ctype = _COVARIANCE_TYPES.index(self.covariance_type)
            self._set_parameters((fit.weights.astype(dtype), fit.means.astype(dtype),
                                  _from_full(fit.covars, ctype).astype(dtype),
                                  _from_full(fit.pchol, ctype).astype(dtype)), xp=np)

        def fit_predict(self, X, y=None):
            """Fits the model (``n_init`` initialisations, each EM loop native) and returns the labels of X
            (with ``comm``: of this rank's shard)."""
            ranks = None if self.comm is None else _Ranks(self.comm)
            if ranks is None:
                X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
                if X.shape[0] < self.n_components:
                    raise ValueError("Expected n_samples >= n_components "
                                     f"but got n_components = {self.n_components}, n_samples = {X.shape[0]}")
                total, root = X.shape[0], 0
            else:
                with _collective(ranks):
                    X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=0)  # ranks.check says which is empty
                shapes = ranks.shards(X)
                total = ranks.check(shapes, int(shapes[0, 1]), self.n_components)
                root = int(np.argmax(shapes[:, 0]))
                dtypes = ranks.comm.allgather(X.dtype.str)
                if len(set(dtypes)) > 1:
                    raise ValueError(f"the ranks' shards have different dtypes: {dtypes}")
            with _collective(ranks):
                self._check_parameters(X, xp=np)
            do_init = not (self.warm_start and hasattr(self, "converged_"))
            n_init = self.n_init if do_init else 1
            max_lower_bound = -np.inf
            best: Optional[_Fit] = None
            self.converged_ = False
            random_state = check_random_state(self.random_state)
            X = _events(X)
            for init in range(n_init):
                self._print_verbose_msg_init_beg(init)
                if do_init and ranks is None:
                    self._initialize_parameters(X, random_state, xp=np)
                elif do_init:
                    self._initialize_everywhere(X, random_state, ranks, root)
                if self.max_iter == 0:  # the initial parameters are the result
                    continue
                fit = self._run(X, self.max_iter, None if do_init else self.lower_bound_, ranks, total)
                if fit.failed:
                    raise ValueError(
                        "Fitting the mixture model failed because some components have ill-defined empirical "
                        "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
                        "number of components, increase reg_covar, or scale the input data.")
                self._print_verbose_msg_init_end(fit.lower_bound, fit.converged)
                if fit.lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                    max_lower_bound, best = fit.lower_bound, fit
                    self.converged_ = fit.converged
            if not self.converged_ and self.max_iter > 0:
                warnings.warn("Best performing initialization did not converge. Try different init parameters, "
                              "or increase max_iter, tol, or check for degenerate data.", ConvergenceWarning)
            if best is not None:
                self._keep(best, X.dtype)
            self.n_iter_ = best.n_iter if best is not None else 0
            self.lower_bound_ = max_lower_bound
            self.lower_bounds_ = list(best.bounds) if best is not None else []
            # The best fit's last E-step ran with the parameters kept: its responsibilities are predict(X)'s.
            return (best.resp if best is not None else self._evaluate(X).resp).argmax(axis=1)

        def _evaluate(self, X: np.ndarray) -> _Fit:
            return self._run(X, 0, None)

        def _checked(self, X) -> np.ndarray:
            check_is_fitted(self)
            return _events(validate_data(self, X, reset=False, dtype=[np.float64, np.float32]))

        def score_samples(self, X):
            """The log-likelihood of each sample, shape (n_samples,)."""
            return self._evaluate(self._checked(X)).logprob

        def predict(self, X):
            """The most likely component of each sample."""
            return self._evaluate(self._checked(X)).resp.argmax(axis=1)

        def predict_proba(self, X):
            """The posterior probability of each component for each sample, (n_samples, n_components)."""
            return self._evaluate(self._checked(X)).resp

else:

    class GaussianMixture:  # type: ignore[no-redef]
        """Needs scikit-learn: ``pip install scikit-learn``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError("asp.gmm.GaussianMixture subclasses scikit-learn's: install scikit-learn")
