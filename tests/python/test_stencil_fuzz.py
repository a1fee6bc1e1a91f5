"""The grammar-based fuzzer (stencil_fuzz.py) in the test suite: a few hundred random kernels over the whole
supported subset, each native against Python (issue 15, point 1). scripts/fuzz N runs more; a seed it
reports, once fixed, belongs in REGRESSIONS below (the generator is a function of the seed, so the seed is the case)."""
import os

import numpy as np

import stencil_fuzz

CASES = int(os.environ.get("ASP_FUZZ_CASES", "300"))
# Seeds the fuzzer found: x ** 2 computed as x * x where Python calls libm's pow (float32: 1444, 3348; float64:
# 2507); a conditional expression of a Python float and a float32 value typed float32 (4889, 6511, 7419,
# 9468, 9839).
REGRESSIONS = [1444, 2507, 3348, 4889, 6511, 7419, 9468, 9839]


def test_the_generator_emits_every_construct_dtype_and_rank():
    sources = [stencil_fuzz.kernel_source(seed) for seed in range(3000)]
    text = "\n".join(k.source for k in sources)
    missing = [c for c in stencil_fuzz.CONSTRUCTS if c not in text]
    assert not missing, missing
    assert {k.dtype for k in sources} == set(stencil_fuzz.DTYPES)
    assert {len(k.shape) for k in sources} == {1, 2, 3, 4}
    assert {k.ghost for k in sources} == {1, 2}


def test_the_comparison_tells_results_apart():
    same = stencil_fuzz._same
    assert same(np.array([1.0, np.nan]), np.array([1.0, -np.nan]))  # NaN payloads aside
    assert not same(np.array([0.0]), np.array([-0.0]))
    assert not same(np.array([1.0]), np.array([np.nextafter(1.0, 2.0)]))
    assert not same(np.array([np.nan]), np.array([1.0]))
    assert not same(np.array([3], np.int32), np.array([4], np.int32))


def test_random_kernels_equal_python(tmp_path):
    ran = {}
    seeds = list(range(CASES)) + REGRESSIONS
    failures = [p for p in (stencil_fuzz.check(seed, tmp_path, ran) for seed in seeds) if p]
    assert not failures, "\n".join(failures[:3])
    # The run tests native code, not only the fallback.
    assert ran.get("native", 0) >= CASES // 2, ran
