"""GMM training over MPI (asp.gmm with comm=), run on every rank by scripts/test under mpirun.

Each rank trains on its shard of one data set (the shards uneven: rank r holds a share growing
with r) and compares with the one-process training on all events, which every rank runs itself
from the same initial parameters."""

import warnings

import numpy as np
import pytest
from mpi4py import MPI

import asp
from asp import gmm

comm = MPI.COMM_WORLD
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def events(n=3000, d=4, seed=7):
    """Three clusters in d dimensions, the same on every rank."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, d))
    X = np.concatenate([c + rng.normal(size=(n // 3, d)) * (1 + i) for i, c in enumerate(centres)])
    return X[rng.permutation(X.shape[0])]


def bounds(n, sizes=None):
    """Rank r's rows [first, end) of n: shares 1, 2, ..., P (uneven) unless sizes are given."""
    shares = np.asarray(sizes if sizes is not None else np.arange(1, comm.size + 1), dtype=float)
    edges = np.concatenate([[0], np.cumsum(shares)]) / shares.sum() * n
    edges = np.round(edges).astype(int)
    return edges[comm.rank], edges[comm.rank + 1]


def shard(X, sizes=None):
    first, end = bounds(X.shape[0], sizes)
    return X[first:end]


def same_on_every_rank(*arrays):
    mine = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)
    assert all(other == mine for other in comm.allgather(mine))


def initial(X, m, covariance_type):
    """Initial parameters in scikit-learn's layout: weights, means (spread rows of X), precisions."""
    d = X.shape[1]
    means = X[np.linspace(0, X.shape[0] - 1, m).astype(int)]
    precision = np.diag(1 / X.var(axis=0))
    precisions = {"full": np.broadcast_to(precision, (m, d, d)).copy(), "tied": precision,
                  "diag": np.broadcast_to(np.diag(precision), (m, d)).copy(),
                  "spherical": np.full(m, float(np.mean(np.diag(precision))))}[covariance_type]
    return np.full(m, 1 / m), means, precisions


def sklearn_pair(X, covariance_type, dtype, **options):
    weights, means, precisions = initial(X, 3, covariance_type)
    kwargs = dict(n_components=3, covariance_type=covariance_type, weights_init=weights, means_init=means,
                  precisions_init=precisions, tol=1e-8, max_iter=40, random_state=0, **options)
    X = X.astype(dtype)
    alone = gmm.GaussianMixture(**kwargs).fit(X)
    together = gmm.GaussianMixture(comm=comm, **kwargs).fit(shard(X))
    return alone, together


ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_")


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_distributed_fit_is_the_one_process_fit_on_all_events(covariance_type):
    alone, together = sklearn_pair(events(), covariance_type, np.float64)
    assert together.last_call.fallback_reason is None
    for name in ATTRIBUTES:
        np.testing.assert_allclose(getattr(together, name), getattr(alone, name), rtol=1e-12, atol=1e-14, err_msg=name)
    assert (together.n_iter_, together.converged_) == (alone.n_iter_, alone.converged_)
    assert together.lower_bound_ == pytest.approx(alone.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(together.lower_bounds_, alone.lower_bounds_, rtol=1e-12)
    same_on_every_rank(*(getattr(together, name) for name in ATTRIBUTES),
                       np.array([together.lower_bound_, together.n_iter_, together.converged_]))


def test_float32_agrees_to_float32_precision():
    alone, together = sklearn_pair(events(), "full", np.float32)
    assert together.means_.dtype == np.float32
    for name in ATTRIBUTES:
        np.testing.assert_allclose(getattr(together, name), getattr(alone, name), rtol=1e-4, atol=1e-5, err_msg=name)
    assert together.lower_bound_ == pytest.approx(alone.lower_bound_, rel=1e-5)
    same_on_every_rank(*(getattr(together, name) for name in ATTRIBUTES), np.array([together.lower_bound_]))


def test_prediction_and_scores_are_the_ranks_own_events():
    X = events()
    alone, together = sklearn_pair(X, "diag", np.float64)
    mine = shard(X)
    np.testing.assert_allclose(together.score_samples(mine), alone.score_samples(mine), rtol=1e-12)
    np.testing.assert_array_equal(together.predict(mine), alone.predict(mine))
    labels = gmm.GaussianMixture(comm=comm, **{k: v for k, v in together.get_params().items() if k != "comm"}).fit_predict(mine)
    assert labels.shape == (mine.shape[0],)


def test_a_rank_with_a_single_event_and_several_initialisations():
    X = events(n=1200)
    sizes = [1] + [10] * (comm.size - 1)
    kwargs = dict(n_components=2, covariance_type="full", n_init=2, random_state=3, tol=1e-8, max_iter=30)
    together = gmm.GaussianMixture(comm=comm, **kwargs).fit(shard(X, sizes))
    # The initialisations ran on the rank with the most events and were broadcast: one model everywhere.
    same_on_every_rank(*(getattr(together, name) for name in ATTRIBUTES),
                       np.array([together.lower_bound_, together.n_iter_, together.converged_]))
    assert np.isfinite(together.lower_bound_) and together.n_iter_ >= 1


def test_the_numpy_fallback_sums_over_the_ranks_too(monkeypatch):
    monkeypatch.setattr(asp, "disabled", lambda: True)
    alone, together = sklearn_pair(events(n=900), "full", np.float64)
    assert together.last_call.fallback_reason == "ASP_DISABLE is set"
    for name in ATTRIBUTES:
        np.testing.assert_allclose(getattr(together, name), getattr(alone, name), rtol=1e-12, atol=1e-14, err_msg=name)
    assert together.n_iter_ == alone.n_iter_


@pytest.mark.parametrize("cvtype", ["diag", "full"])
def test_the_original_api_trains_and_seeds_as_one_process(cvtype):
    X = events(d=5)
    alone = gmm.GMM(4, 5, cvtype=cvtype, dtype=np.float64)
    together = gmm.GMM(4, 5, cvtype=cvtype, dtype=np.float64, comm=comm)
    expected = alone.train(X, max_em_iters=20)
    total = together.train(shard(X), max_em_iters=20)
    assert total == pytest.approx(expected, rel=1e-12)
    for name in ("weights", "means", "covars"):
        np.testing.assert_allclose(getattr(together.components, name), getattr(alone.components, name),
                                   rtol=1e-12, atol=1e-14, err_msg=name)
    same_on_every_rank(together.components.weights, together.components.means, together.components.covars)
    np.testing.assert_allclose(together.score(shard(X)), alone.score(shard(X)), rtol=1e-12)


def test_the_original_api_in_float32():
    X = events(d=5)
    alone, together = gmm.GMM(4, 5), gmm.GMM(4, 5, comm=comm)
    expected = alone.train(X, max_em_iters=10)
    assert together.train(shard(X), max_em_iters=10) == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(together.components.means, alone.components.means, rtol=1e-3, atol=1e-3)
    same_on_every_rank(together.components.means, together.components.covars)


def bad_on_last_rank(X, bad):
    return bad(X) if comm.rank == comm.size - 1 else X


@pytest.mark.parametrize("bad, words", [
    (lambda X: np.where(np.arange(X.shape[0])[:, None] == 0, np.nan, X), "NaN|infinity"),
    (lambda X: X[:, :3], "features"),
    (lambda X: X[:0], "shard has no events"),
])
def test_a_bad_shard_on_one_rank_makes_every_rank_raise(bad, words):
    X = bad_on_last_rank(shard(events(n=600)), bad)
    with pytest.raises(ValueError, match=words):
        gmm.GaussianMixture(n_components=2, comm=comm).fit(X)
    with pytest.raises(ValueError, match=words):
        gmm.GMM(2, 4, dtype=np.float64, comm=comm).train(X)
    comm.Barrier()  # every rank got here: none is left waiting


def test_fewer_events_than_components_on_all_ranks_together_is_refused_everywhere():
    X = events(n=600)[comm.rank: comm.rank + 1]
    with pytest.raises(ValueError, match="n_samples >= n_components.*all ranks"):
        gmm.GaussianMixture(n_components=comm.size + 1, comm=comm).fit(X)


def test_a_covariance_that_fails_fails_on_every_rank():
    X = np.repeat(events(n=60)[:1], 40, axis=0)  # one point repeated: no covariance without reg_covar
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm.GaussianMixture(n_components=2, reg_covar=0, init_params="random", random_state=0,
                                comm=comm).fit(shard(X))


def test_a_sub_communicator_trains_its_own_model():
    sub = comm.Split(comm.rank % 2, comm.rank)
    try:
        X = events(n=1500, seed=11 + comm.rank % 2)  # one data set per group
        shares = np.arange(1, sub.size + 1)
        edges = np.round(np.concatenate([[0], np.cumsum(shares)]) / shares.sum() * X.shape[0]).astype(int)
        weights, means, precisions = initial(X, 2, "full")
        kwargs = dict(n_components=2, weights_init=weights, means_init=means, precisions_init=precisions, tol=1e-8)
        alone = gmm.GaussianMixture(**kwargs).fit(X)
        together = gmm.GaussianMixture(comm=sub, **kwargs).fit(X[edges[sub.rank]:edges[sub.rank + 1]])
        for name in ATTRIBUTES:
            np.testing.assert_allclose(getattr(together, name), getattr(alone, name), rtol=1e-12, atol=1e-14)
        assert together.n_iter_ == alone.n_iter_
    finally:
        sub.Free()
