"""GMM training: time per EM iteration of asp.gmm against scikit-learn, and of every variant over a sweep.

1. N = 100 000, D = 24, M = 32, full and diag, float64 and float32: asp.gmm.GaussianMixture
   and sklearn.mixture.GaussianMixture from the same initial parameters (tol = 0, so both run
   every iteration). Time per iteration = (fit of 11 iterations - fit of 1) / 10, best of 3, after
   warm-up fits that cover the tuner's exploration; results checked equal (float64: rtol 1e-6).
   Achieved GFLOP/s counts the two GEMMs of the fused pass (2 N M K flops each, K features).
2. Like the paper's figure: the time per iteration of every em_pass variant (the per-iteration
   kernel) over D = 2..42 and M = 1..101 (N = 10 000, full), read from the tuning database
   the fits filled in, with the variant the tuner chose marked.

Usage: .venv/bin/python bench/gmm_bench.py [--quick] [--out bench/results] [--only scikit-learn|variants]
Writes gmm.json and gmm_variants.png to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sqlite3
import tempfile
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]


def best_of(function, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def features(d: int, covariance_type: str) -> int:
    return {"full": 1 + d + d * (d + 1) // 2, "diag": 1 + 2 * d}[covariance_type]


def against_scikit_learn(np, ours_class, theirs_class, quick: bool) -> list:
    rng = np.random.default_rng(1)
    n, d, m = (20_000 if quick else 100_000), 24, 32
    centers = rng.normal(0, 4, (m, d))
    X = centers[rng.integers(0, m, n)] + rng.normal(0, 1, (n, d))
    rows = []
    for dtype in (np.float64, np.float32):
        data = X.astype(dtype)
        for covariance_type in ("full", "diag"):
            init = dict(covariance_type=covariance_type, means_init=X[rng.choice(n, m, replace=False)],
                        weights_init=np.full(m, 1 / m), random_state=0, tol=0.0,
                        init_params="random_from_data")  # cheap: the *_init parameters replace its result

            def per_iteration(cls, repeat):
                long = best_of(lambda: cls(m, max_iter=11, **init).fit(data), repeat)
                short = best_of(lambda: cls(m, max_iter=1, **init).fit(data), repeat)
                return (long - short) / 10

            for _ in range(3):  # compile, then the tuner's exploration
                ours_class(m, max_iter=10, **init).fit(data)
            asp_time = per_iteration(ours_class, 3)
            sk_time = per_iteration(theirs_class, 1)
            ours, theirs = ours_class(m, max_iter=10, **init).fit(data), theirs_class(m, max_iter=10, **init).fit(data)
            difference = float(np.max(np.abs(ours.means_ - theirs.means_)))
            if dtype == np.float64:
                assert abs(ours.lower_bound_ - theirs.lower_bound_) <= 1e-6 * abs(theirs.lower_bound_), (ours.lower_bound_, theirs.lower_bound_)
            flops = 4 * n * m * features(d, covariance_type)
            row = dict(dtype=np.dtype(dtype).name, covariance_type=covariance_type, n=n, d=d, m=m,
                       asp_ms=asp_time * 1e3, sklearn_ms=sk_time * 1e3, speedup=sk_time / asp_time,
                       asp_gflops=flops / asp_time / 1e9, backend=ours.last_call.backend,
                       variant=ours.last_call.variant, max_mean_difference=difference)
            rows.append(row)
            print(f"{row['dtype']:8} {covariance_type:5} scikit-learn {row['sklearn_ms']:8.1f} ms  asp {row['asp_ms']:7.1f} ms"
                  f"  ({row['speedup']:5.1f}x, {row['asp_gflops']:5.1f} GFLOP/s, {row['backend']} {row['variant']})", flush=True)
    return rows


def variant_sweep(np, ours_class, cache: pathlib.Path, quick: bool) -> list:
    rng = np.random.default_rng(2)
    n = 2_000 if quick else 10_000
    dims = [2, 10, 26] if quick else list(range(2, 43, 8))
    comps = [1, 21, 61] if quick else list(range(1, 102, 20))
    for d in dims:
        X = rng.normal(0, 1, (n, d)) + rng.integers(0, 4, (n, 1))
        for m in comps:
            init = dict(means_init=X[rng.choice(n, m, replace=False)], random_state=0, tol=0.0, max_iter=10)
            for _ in range(2):  # 20 em_pass launches: every variant timed twice, then the tuner's choice
                ours_class(m, **init).fit(X)
    timings = sqlite3.connect(str(cache / "tuning.sqlite")).execute(
        "SELECT signature, variant, best FROM timings WHERE variant LIKE 'em_pass%'").fetchall()
    rows = []
    order = len(str(n)) - 1  # the program's tuning key: tune(m, d, covariance type, floor(log10 n))
    for signature, variant, best in timings:
        key = re.fullmatch(r"tune\((\d+), (\d+), 0, (\d+)\)", signature)
        if not key or int(key.group(3)) != order or "f64" not in variant:
            continue
        m, d = int(key.group(1)), int(key.group(2))
        rows.append(dict(d=d, m=m, variant=variant, ms=best * 1e3, chosen=False))
    mark_choices(rows)
    print(f"variant sweep: {len(rows)} timings over D {dims} x M {comps}, N = {n}")
    return rows


def mark_choices(rows: list) -> None:
    """The tuner, once it has timed every variant, keeps the one with the best time: mark it per (D, M)."""
    best = {}
    for r in rows:
        if (r["d"], r["m"]) not in best or r["ms"] < best[(r["d"], r["m"])]["ms"]:
            best[(r["d"], r["m"])] = r
    for r in rows:
        r["chosen"] = best[(r["d"], r["m"])] is r


def plot(rows: list, out: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = sorted({r["d"] for r in rows})
    variants = sorted({r["variant"] for r in rows})
    fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.4), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], dims):
        for variant in variants:
            points = sorted((r["m"], r["ms"], r["chosen"]) for r in rows if r["d"] == d and r["variant"] == variant)
            if not points:
                continue
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=variant.replace("em_pass_cpu_f64_", ""))
            ax.scatter([p[0] for p in points if p[2]], [p[1] for p in points if p[2]], s=60, facecolors="none", edgecolors="k")
        ax.set_title(f"D = {d}")
        ax.set_xlabel("components M")
        ax.set_yscale("log")
    axes[0][0].set_ylabel("ms per EM iteration (em_pass)")
    axes[0][-1].legend(fontsize=7, title="circled: chosen")
    fig.suptitle("asp.gmm, full covariance, N = 10 000: every variant, the tuner's choice circled")
    fig.tight_layout()
    fig.savefig(out / "gmm_variants.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--only", choices=["scikit-learn", "variants"], help="run one of the two parts")
    options = parser.parse_args()
    out = pathlib.Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    work = tempfile.TemporaryDirectory(prefix="asp-gmm-bench-")
    cache = pathlib.Path(work.name)
    os.environ["ASP_CACHE_DIR"] = str(cache)  # an empty tuning database: the sweep reads what it measured

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture as Theirs

    from asp.gmm import GaussianMixture as Ours

    warnings.simplefilter("ignore", ConvergenceWarning)
    report = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
    if options.only != "variants":
        report["against_scikit_learn"] = against_scikit_learn(np, Ours, Theirs, options.quick)
    if options.only != "scikit-learn":
        report["variants"] = variant_sweep(np, Ours, cache, options.quick)
    (out / "gmm.json").write_text(json.dumps(report, indent=1))
    if report.get("variants"):
        plot(report["variants"], out)
    print(f"wrote {out / 'gmm.json'} and {out / 'gmm_variants.png'}")


if __name__ == "__main__":
    main()
