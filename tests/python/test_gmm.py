"""asp.gmm against scikit-learn and the NumPy reference (issue 11).

Native runs are checked by ``last_call.backend``; every comparison is with
scikit-learn's GaussianMixture from the same initial parameters, or with the
float64 NumPy EM of asp.gmm (``_numpy_em``, the fallback) where the original
API's semantics differ from scikit-learn's.
"""
import os
import warnings

import numpy as np
import pytest

import asp
import asp.gmm as gmm

sklearn_mixture = pytest.importorskip("sklearn.mixture")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

# Fits that stop at max_iter on purpose (tol=0) warn as scikit-learn does.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
# The host backends and opencl (the kernels' OpenCL C variants) run every GMM kernel; a test run that forces
# another backend checks the fallback instead.
BACKEND = os.environ.get("ASP_TEST_BACKEND", "openmp")
NATIVE = BACKEND in ("openmp", "pthreads", "opencl")
# The variants of estep (the last launch, the one a call reports): MR x NB on the host, one on opencl.
ESTEP_VARIANTS = 1 if BACKEND == "opencl" else 4


@pytest.fixture(autouse=True)
def _backend(monkeypatch):
    monkeypatch.setenv("ASP_BACKEND", BACKEND)


def blobs(seed=0, n=900, d=3, m=3, scale=4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, scale, (m, d))
    labels = rng.integers(0, m, n)
    spread = rng.uniform(0.5, 1.5, (m, d))
    return centers[labels] + rng.normal(0, 1, (n, d)) * spread[labels], labels


def initial_parameters(X, m, covariance_type, seed=0):
    """weights_init, means_init, precisions_init in scikit-learn's layout."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    means = X[rng.choice(X.shape[0], m, replace=False)]
    weights = np.full(m, 1.0 / m)
    precision = np.linalg.inv(np.cov(X.T) + 0.1 * np.eye(d))
    precisions = {
        "full": np.broadcast_to(precision, (m, d, d)).copy(),
        "tied": precision,
        "diag": np.broadcast_to(np.diag(precision), (m, d)).copy(),
        "spherical": np.full(m, np.mean(np.diag(precision))),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def assert_native(model):
    if NATIVE:
        assert model.last_call.backend is not None, model.last_call
        assert model.last_call.fallback_reason is None
        if BACKEND == "opencl":
            assert model.last_call.backend == "opencl", model.last_call


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_scikit_learn_from_the_same_initial_parameters(covariance_type):
    X, _ = blobs()
    init = initial_parameters(X, 3, covariance_type)
    options = dict(covariance_type=covariance_type, tol=1e-8, max_iter=200, reg_covar=1e-6, **init)
    expected = sklearn_mixture.GaussianMixture(3, **options).fit(X)
    ours = gmm.GaussianMixture(3, **options).fit(X)
    assert_native(ours)
    assert ours.n_iter_ == expected.n_iter_
    assert ours.converged_ == expected.converged_
    np.testing.assert_allclose(ours.lower_bound_, expected.lower_bound_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bounds_, expected.lower_bounds_, rtol=1e-6)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(expected, name), rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(ours.score_samples(X), expected.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), expected.predict_proba(X), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), expected.predict(X))
    assert ours.score(X) == pytest.approx(expected.score(X), rel=1e-9)
    assert ours.bic(X) == pytest.approx(expected.bic(X), rel=1e-9)
    assert ours.aic(X) == pytest.approx(expected.aic(X), rel=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_within_tolerance_of_float64(covariance_type):
    """float32 events run the float32 kernels: within 1e-4 of scikit-learn's float64 fit (documented in the README)."""
    X, _ = blobs(seed=3)
    init = initial_parameters(X, 3, covariance_type)
    options = dict(covariance_type=covariance_type, tol=0.0, max_iter=15, **init)
    expected = sklearn_mixture.GaussianMixture(3, **options).fit(X)
    ours = gmm.GaussianMixture(3, **options).fit(X.astype(np.float32))
    assert_native(ours)
    assert ours.means_.dtype == np.float32
    np.testing.assert_allclose(ours.lower_bound_, expected.lower_bound_, rtol=1e-4)
    np.testing.assert_allclose(ours.means_, expected.means_, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ours.covariances_, expected.covariances_, rtol=1e-3, atol=1e-3)


def test_every_variant_against_the_numpy_reference():
    """The tuner tries each variant on successive fits; each result equals the float64 NumPy EM."""
    X, _ = blobs(seed=5, n=1000, d=5, m=4)
    init = initial_parameters(X, 4, "full")
    reference = gmm.GaussianMixture(4, max_iter=5, tol=0.0, **init)
    seen = set()
    for _ in range(40):
        ours = gmm.GaussianMixture(4, max_iter=5, tol=0.0, **init).fit(X)
        assert_native(ours)
        seen.add(ours.last_call.variant)
        if len(seen) == ESTEP_VARIANTS:
            break
    if NATIVE:
        assert len(seen) == ESTEP_VARIANTS, seen
    ctype = 0
    m, d = ours.means_.shape
    expected = gmm._numpy_em(X, init["weights_init"], init["means_init"],
                             gmm._to_full(np.linalg.cholesky(init["precisions_init"]), ctype, m, d),
                             ctype, 0.0, 1e-6, 1, 5, False, None)
    np.testing.assert_allclose(ours.means_, expected.means, rtol=1e-9)
    np.testing.assert_allclose(ours.covariances_, expected.covars, rtol=1e-9, atol=1e-12)
    reference.fit(X)
    np.testing.assert_allclose(reference.lower_bound_, ours.lower_bound_, rtol=1e-12)


def test_warm_start_continues_and_matches_scikit_learn():
    X, _ = blobs(seed=7)
    init = initial_parameters(X, 3, "full")
    options = dict(max_iter=2, tol=1e-10, warm_start=True, **init)
    ours, expected = gmm.GaussianMixture(3, **options), sklearn_mixture.GaussianMixture(3, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(X)
            expected.fit(X)
            np.testing.assert_allclose(ours.means_, expected.means_, rtol=1e-8)
            assert ours.n_iter_ == expected.n_iter_
            np.testing.assert_allclose(ours.lower_bound_, expected.lower_bound_, rtol=1e-10)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_init_params_with_n_init(init_params):
    X, labels = blobs(seed=11)
    options = dict(init_params=init_params, n_init=3, random_state=0, tol=1e-6)
    expected = sklearn_mixture.GaussianMixture(3, **options).fit(X)
    ours = gmm.GaussianMixture(3, **options)
    predicted = ours.fit_predict(X)
    assert_native(ours)
    np.testing.assert_allclose(ours.lower_bound_, expected.lower_bound_, rtol=1e-6)
    np.testing.assert_array_equal(predicted, ours.predict(X))
    assert ours.n_iter_ == expected.n_iter_


def test_max_iter_zero_keeps_the_initial_means():
    X, _ = blobs()
    means = X[:3].copy()
    ours = gmm.GaussianMixture(3, max_iter=0, means_init=means).fit(X)
    np.testing.assert_array_equal(ours.means_, means)
    assert ours.n_iter_ == 0


def test_monotonic_likelihood_one_iteration_at_a_time():
    X, _ = blobs(seed=2)
    model = gmm.GaussianMixture(3, warm_start=True, max_iter=1, reg_covar=0, random_state=0, tol=1e-7)
    previous = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(50):
            model.fit(X)
            score = model.score(X)
            assert score >= previous - 1e-12
            previous = score
            if model.converged_:
                break
    assert model.converged_


def test_sample_and_parameter_counts_come_from_scikit_learn():
    X, _ = blobs()
    model = gmm.GaussianMixture(3, random_state=0).fit(X)
    samples, components = model.sample(50)
    assert samples.shape == (50, 3) and components.shape == (50,)
    assert model._n_parameters() == 3 * 6 + 3 * 3 + 2


# ---- bad input gets scikit-learn's answer ---------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_events_are_refused(bad):
    X, _ = blobs()
    X[5, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        gmm.GaussianMixture(3).fit(X)


def test_wrong_number_of_features_is_refused():
    X, _ = blobs()
    model = gmm.GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_fewer_events_than_components_is_refused():
    X, _ = blobs(n=4)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        gmm.GaussianMixture(5).fit(X)


def test_a_singular_covariance_without_regularisation_says_what_to_do():
    X = np.zeros((20, 2))
    X[:10] = [1.0, 1.0]
    with pytest.raises(ValueError, match="increase reg_covar"):
        gmm.GaussianMixture(2, reg_covar=0, means_init=[[0.0, 0.0], [1.0, 1.0]]).fit(X)


def test_integer_and_non_contiguous_events_are_converted_not_refused():
    X, _ = blobs()
    init = initial_parameters(X, 3, "diag")
    expected = gmm.GaussianMixture(3, covariance_type="diag", **init).fit(np.ascontiguousarray(X))
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    ours = gmm.GaussianMixture(3, covariance_type="diag", **init).fit(wide[:, ::2])
    np.testing.assert_allclose(ours.means_, expected.means_, rtol=1e-12)
    counts = gmm.GaussianMixture(2, random_state=0).fit(np.arange(20).reshape(10, 2) % 7)
    assert counts.means_.dtype == np.float64


def test_a_string_dtype_is_refused():
    with pytest.raises(ValueError):
        gmm.GaussianMixture(2).fit(np.array([["a", "b"], ["c", "d"], ["e", "f"]]))


# ---- fallback ----------------------------------------------------------------------------------


def test_asp_disable_runs_numpy_with_the_same_result(monkeypatch):
    X, _ = blobs()
    init = initial_parameters(X, 3, "full")
    native = gmm.GaussianMixture(3, **init).fit(X)
    monkeypatch.setenv("ASP_DISABLE", "1")
    plain = gmm.GaussianMixture(3, **init).fit(X)
    assert plain.last_call.backend is None and "ASP_DISABLE" in plain.last_call.fallback_reason
    np.testing.assert_allclose(plain.means_, native.means_, rtol=1e-9)
    assert plain.n_iter_ == native.n_iter_


def test_no_usable_backend_falls_back_with_a_warning_or_raises_under_strict(monkeypatch):
    X, _ = blobs()
    monkeypatch.setattr(gmm._Engine, "_specialized", {})
    monkeypatch.setattr(asp, "specialize", lambda *a, **k: (_ for _ in ()).throw(asp.UnsupportedError("no backend")))
    with pytest.warns(asp.FallbackWarning, match="no backend"):
        model = gmm.GaussianMixture(3, random_state=0).fit(X)
    assert model.last_call.fallback_reason == "no backend"
    monkeypatch.setattr(gmm._Engine, "_specialized", {})
    monkeypatch.setenv("ASP_STRICT", "1")
    with pytest.raises(asp.SpecializationError, match="no backend"):
        gmm.GaussianMixture(3, random_state=0).fit(X)


# ---- the original API (hcook/gmm tests/gmm_test.py, ported) ------------------------------------------


@pytest.fixture
def synthetic():
    """D=2, N=600, M=3, as the original tests."""
    rng = np.random.RandomState(0)
    C = np.array([[0.0, -0.7], [3.5, 0.7]])
    C1 = np.array([[-0.4, 1.7], [0.3, 0.7]])
    return np.r_[np.dot(rng.randn(200, 2), C1), np.dot(rng.randn(200, 2), C), rng.randn(200, 2) + np.array([3, 3])].astype(np.float32)


def test_original_init():
    assert gmm.GMM(3, 2, cvtype="diag") is not None
    with pytest.raises(ValueError, match="cvtype"):
        gmm.GMM(3, 2, cvtype="tied")


@pytest.mark.parametrize("cvtype", ["diag", "full"])
def test_original_training_once_agrees_and_predicts_several_components(synthetic, cvtype):
    first, second = gmm.GMM(3, 2, cvtype=cvtype), gmm.GMM(3, 2, cvtype=cvtype)
    l1, l2 = first.train(synthetic), second.train(synthetic)
    assert_native(first)
    assert l1 == pytest.approx(l2, abs=1e-3)
    np.testing.assert_allclose(first.components.means, second.components.means, atol=1e-4)
    np.testing.assert_allclose(first.components.covars, second.components.covars, atol=1e-4)
    labels = first.predict(synthetic)
    np.testing.assert_array_equal(labels, second.predict(synthetic))
    assert len(set(labels)) > 1


def test_original_training_repeat_continues_from_the_current_parameters(synthetic):
    first, second = gmm.GMM(3, 2), gmm.GMM(3, 2)
    for _ in range(5):
        l1, l2 = first.train(synthetic), second.train(synthetic)
    assert l1 == pytest.approx(l2, abs=1e-3)
    once = gmm.GMM(3, 2)
    assert l1 >= once.train(synthetic) - 1e-3


def test_original_semantics_against_the_numpy_reference(synthetic):
    """Seeding, regulariser, epsilon and the final E-step as the original; float32 within 1e-4 of float64 NumPy."""
    model = gmm.GMM(3, 2, cvtype="full", dtype=np.float64)
    likelihood = model.train(synthetic, max_em_iters=10)
    reference = gmm.GMM(3, 2, cvtype="full", dtype=np.float64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASP_DISABLE", "1")
        expected = reference.train(synthetic, max_em_iters=10)
    assert likelihood == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(model.components.means, reference.components.means, rtol=1e-9)
    logprob, posteriors = model.eval(synthetic)
    assert posteriors.shape == (3, synthetic.shape[0])
    np.testing.assert_allclose(posteriors.sum(axis=0), 1.0, rtol=1e-12)
    assert np.sum(logprob) == pytest.approx(likelihood, rel=1e-10)
    np.testing.assert_array_equal(model.predict(synthetic), posteriors.argmax(axis=0))
    single = gmm.GMM(3, 2, cvtype="full")
    assert single.train(synthetic, max_em_iters=10) == pytest.approx(likelihood, rel=1e-4)


def test_original_data_dimension_mismatch_raises(synthetic):
    with pytest.raises(ValueError, match="features"):
        gmm.GMM(3, 4).train(synthetic)


def test_compute_distance_bic_on_each_models_own_frames(synthetic):
    a, b = gmm.GMM(2, 2), gmm.GMM(3, 2)
    a.train(synthetic[:200])
    b.train(synthetic[200:])
    merged, score = gmm.compute_distance_BIC(a, b, (synthetic[:200], synthetic[200:]))
    expected = merged.score(synthetic).sum() - (a.score(synthetic[:200]).sum() + b.score(synthetic[200:]).sum())
    assert score == pytest.approx(expected, abs=1e-2 + 1e-5 * abs(expected))


def test_diarization_example_finds_the_speakers():
    import pathlib
    import runpy

    example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "diarization.py"
    module = runpy.run_path(str(example), run_name="diarization")
    X, truth = module["synthetic_meeting"](4, 60, np.random.default_rng(2))
    found = module["diarize"](X)
    assert module["agreement"](found, truth) >= 0.9  # clusters are pure
    assert 4 <= len(set(found)) <= 6  # and not many more than the speakers (equal-parameter BIC merges cautiously)


def test_compute_distance_bic_merges_and_scores(synthetic):
    a, b = gmm.GMM(2, 2), gmm.GMM(3, 2)
    a.train(synthetic[:300])
    b.train(synthetic[300:])
    merged, score = gmm.compute_distance_BIC(a, b, synthetic)
    assert merged.M == 5
    expected = merged.score(synthetic).sum() - (a.score(synthetic).sum() + b.score(synthetic).sum())
    assert np.isfinite(score)
    assert abs(score - expected) < 1.0 + 1e-3 * abs(expected)


def test_passes_scikit_learns_estimator_checks():
    """Every check of sklearn.utils.estimator_checks passes; the array-API check is skipped by scikit-learn
    itself unless SCIPY_ARRAY_API is set (asp.gmm takes NumPy arrays only)."""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(gmm.GaussianMixture(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}, skipped


def test_read_only_events_are_accepted():
    X, _ = blobs()
    X.setflags(write=False)
    model = gmm.GaussianMixture(3, random_state=0).fit(X)
    assert_native(model)
    assert model.predict(X).shape == (X.shape[0],)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_separate_e_and_m_steps_give_the_fused_passs_result(monkeypatch, covariance_type):
    """The program's other path (estep keeping the responsibilities, then mstep_stats: the structure of the
    CUDA variants) on this backend, against the fused pass."""
    X, _ = blobs(seed=4)
    init = initial_parameters(X, 3, covariance_type)
    options = dict(covariance_type=covariance_type, tol=1e-8, max_iter=50, **init)
    fused = gmm.GaussianMixture(3, **options).fit(X)
    monkeypatch.setattr(gmm, "_SPLIT_STEPS", (fused.last_call.backend,))
    split = gmm.GaussianMixture(3, **options).fit(X)
    assert_native(split)
    assert split.n_iter_ == fused.n_iter_
    np.testing.assert_allclose(split.lower_bounds_, fused.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(split.covariances_, fused.covariances_, rtol=1e-10, atol=1e-13)


def test_initialisation_from_responsibilities_runs_natively_and_matches_scikit_learn():
    X, _ = blobs(seed=9)
    for covariance_type in COVARIANCE_TYPES:
        options = dict(covariance_type=covariance_type, max_iter=0, random_state=3, init_params="random")
        ours = gmm.GaussianMixture(3, **options).fit(X)
        theirs = sklearn_mixture.GaussianMixture(3, **options).fit(X)
        assert_native(ours)
        np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-12)
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
        np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-10)
