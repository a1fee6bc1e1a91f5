"""Matrix powers and CG: asp.akx against SciPy, against its own SpMV and against the STREAM ceiling.

1. Per matrix (2-D Poisson 2048², 3-D Poisson 128³, and irregular ones: the 2-D Poisson matrix of
   1024² with its rows and columns randomly permuted, and a random 2^20-row matrix, 8 nonzeros per row):
   SciPy's SpMV, Asp's best SpMV, k separate Asp SpMVs and Asp's tuned powers (asp.akx.tune) for
   k = 2, 4, 8. Effective bandwidth = k x (bytes of the matrix: data, indices, row pointers) / time, the
   traffic k SpMVs would need, against the STREAM copy bandwidth. Results checked against repeated SciPy
   SpMV (relative 1e-12 per level).
2. asp.akx.cg against scipy.sparse.linalg.cg on the 2-D Poisson matrix 512², rtol 1e-8, b = ones: SciPy
   (as it comes, and with BLAS held to one thread as asp.akx.cg holds it), Asp's native CG program (the default path) and Asp's s-step CG (method="s-step", s = 1, 4, 8); all to
   the same true residual (each result's ||b - A x|| / ||b|| and steps are reported, times as ratios to
   SciPy's measured in the same run).

Usage: .venv/bin/python bench/akx_bench.py [--quick] [--cg-only] [--out bench/results]
Writes akx.json and akx.png to --out.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import pathlib
import sys
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def best_of(function, repeat: int = 5) -> float:
    """The best of `repeat` timed runs after one warm-up, in seconds."""
    from suite import measure

    return measure(function, repeat)["min"]


def poisson(n: int, dims: int):
    import scipy.sparse as sparse

    t = sparse.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n))
    a = t
    for _ in range(dims - 1):
        a = sparse.kronsum(a, t)
    return sparse.csr_array(a)


def permuted(a, seed: int):
    import scipy.sparse as sparse

    p = np.random.default_rng(seed).permutation(a.shape[0])
    return sparse.csr_array(a[p][:, p])


def random_sparse(n: int, per_row: int, seed: int):
    """A random matrix with per_row nonzeros in each row (columns uniform) and a dominant diagonal."""
    import scipy.sparse as sparse

    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, n * per_row)
    a = sparse.csr_array((rng.uniform(-1, 1, n * per_row), (rows, cols)), shape=(n, n))
    return sparse.csr_array(a + per_row * sparse.eye_array(n))


def matrix_bytes(a) -> int:
    return a.data.nbytes + a.indices.nbytes + a.indptr.nbytes


def stream_copy_gbs() -> float:
    from suite import YARDSTICKS, last_level_cache_bytes, stream

    if not YARDSTICKS.exists():
        return float("nan")
    return stream(ctypes.CDLL(str(YARDSTICKS)), last_level_cache_bytes(), 5)["copy_GBs"]


def powers_rows(name: str, a, ks, copy_gbs: float, quick: bool) -> list:
    from asp import akx

    n = a.shape[0]
    x = np.random.default_rng(1).standard_normal(n)
    t_scipy = best_of(lambda: a @ x)
    rows = []
    for k in ks:
        began = time.perf_counter()
        obj = akx.tune(a, k, progress=False)
        tuning = time.perf_counter() - began
        y = np.empty(n)
        t_spmv = best_of(lambda: obj.spmv(x, y))
        spmv_variant = obj.last_call.variant
        vecs = np.empty((k + 1, n))
        vecs[0] = x
        t_powers = best_of(lambda: obj.powers(vecs))
        want = [x]
        for _ in range(k):
            want.append(a @ want[-1])
        error = max(float(np.abs(v - w).max() / np.abs(w).max()) for v, w in zip(vecs, want))
        bytes_k = k * matrix_bytes(a)
        row = {
            "matrix": name, "n": n, "nnz": int(a.nnz), "k": k, "layout": str(obj.layout),
            "variant": obj.last_call.variant, "backend": obj.last_call.backend, "spmv_variant": spmv_variant,
            "tuning_s": tuning, "scipy_spmv_ms": 1e3 * t_scipy, "asp_spmv_ms": 1e3 * t_spmv,
            "asp_k_spmv_ms": 1e3 * k * t_spmv, "asp_powers_ms": 1e3 * t_powers,
            "powers_vs_scipy": k * t_scipy / t_powers, "powers_vs_asp_spmv": k * t_spmv / t_powers,
            "effective_GBs": bytes_k / t_powers / 1e9, "effective_vs_copy": bytes_k / t_powers / 1e9 / copy_gbs,
            "spmv_GBs": matrix_bytes(a) / t_spmv / 1e9, "max_relative_error": error,
        }
        print(f"{name:>22} k={k}: SciPy {k}xSpMV {k * t_scipy * 1e3:8.1f} ms | Asp {k}xSpMV {k * t_spmv * 1e3:8.1f} ms"
              f" | powers {t_powers * 1e3:8.1f} ms ({row['powers_vs_scipy']:.1f}x SciPy, "
              f"{row['powers_vs_asp_spmv']:.2f}x Asp SpMV, {row['effective_vs_copy']:.2f} of copy) | {obj.layout}"
              f" | error {error:.1e}", flush=True)
        rows.append(row)
    return rows


def cg_rows(quick: bool) -> list:
    import scipy.sparse.linalg as linalg

    from asp import _cg, akx

    a = poisson(256 if quick else 512, 2)
    b = np.ones(a.shape[0])
    bnorm = np.linalg.norm(b)
    rows = []
    steps = []

    def scipy_cg():
        steps.clear()
        return linalg.cg(a, b, rtol=1e-8, maxiter=100_000, callback=lambda xk: steps.append(None))

    def scipy_one_thread():
        # SciPy with BLAS held to one thread, as asp.akx.cg holds it: OpenBLAS's spinning threads cost SciPy
        # most of its time on a loaded machine, so this row separates that from the native loop's gain
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            return scipy_cg()

    for label, solve in (("scipy", scipy_cg), ("scipy BLAS 1 thread", scipy_one_thread),
                         ("asp native", lambda: akx.cg(a, b, rtol=1e-8, maxiter=100_000)),
                         *[(f"asp s-step s={s}", (lambda s=s: akx.cg(a, b, rtol=1e-8, maxiter=100_000, s=s,
                                                                    method="s-step")))
                           for s in (1, 4, 8)]):
        x, info = solve()
        count = len(steps) if label.startswith("scipy") else _cg.last_solve.iterations
        method = "scipy" if label.startswith("scipy") else _cg.last_solve.method
        seconds = best_of(solve, 2 if quick else 3)
        residual = float(np.linalg.norm(b - a @ x) / bnorm)
        rows.append({"solver": label, "method": method, "seconds": seconds, "info": int(info), "steps": count,
                     "true_relative_residual": residual, "ms_per_step": seconds * 1e3 / max(count, 1)})
        print(f"cg {label:>19}: {seconds * 1e3:9.1f} ms ({method}), {count} steps "
              f"({seconds * 1e6 / max(count, 1):.0f} us each), info {info}, ||b - Ax||/||b|| = {residual:.2e}",
              flush=True)
    base = rows[0]["seconds"]
    for row in rows:
        row["speedup_vs_scipy"] = base / row["seconds"]
        print(f"cg {row['solver']:>19}: {row['speedup_vs_scipy']:.2f}x SciPy", flush=True)
    return rows


def plot(report: dict, out: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["powers"]
    names = sorted({r["matrix"] for r in rows}, key=[r["matrix"] for r in rows].index)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / 3
    for i, k in enumerate(sorted({r["k"] for r in rows})):
        values = [next((r["effective_vs_copy"] for r in rows if r["matrix"] == m and r["k"] == k), 0) for m in names]
        ax.bar(np.arange(len(names)) + i * width, values, width, label=f"powers k={k}")
    spmv = [next(r["spmv_GBs"] / report["stream_copy_GBs"] for r in rows if r["matrix"] == m) for m in names]
    ax.scatter(np.arange(len(names)) + width, spmv, color="black", marker="x", zorder=3, label="Asp SpMV")
    ax.axhline(1.0, color="red", linestyle="--", label="STREAM copy")
    ax.set_xticks(np.arange(len(names)) + width, names, fontsize=8)
    ax.set_ylabel("effective bandwidth / STREAM copy")
    ax.set_title("asp.akx matrix powers: k matrix reads' worth of bytes per second")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "akx.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller matrices (a minute or two)")
    parser.add_argument("--cg-only", action="store_true", help="only the CG comparison")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("error")  # a fallback is a failed benchmark, not a slow one
    q = args.quick
    if args.cg_only:
        report = {"cg": cg_rows(q)}
        (out / "akx_cg.json").write_text(json.dumps(report, indent=1))
        print(f"wrote {out / 'akx_cg.json'}")
        return
    copy = stream_copy_gbs()
    print(f"STREAM copy {copy:.1f} GB/s", flush=True)
    matrices = [
        (f"poisson2d-{1024 if q else 2048}", poisson(1024 if q else 2048, 2)),
        (f"poisson3d-{64 if q else 128}", poisson(64 if q else 128, 3)),
        (f"poisson2d-{512 if q else 1024}-permuted", permuted(poisson(512 if q else 1024, 2), 2)),
        (f"random-{2**18 if q else 2**20}-8", random_sparse(2**18 if q else 2**20, 8, 3)),
    ]
    report = {"stream_copy_GBs": copy, "powers": [], "cg": []}
    for name, a in matrices:
        report["powers"].extend(powers_rows(name, a, (2, 4, 8), copy, q))
    report["cg"] = cg_rows(q)
    (out / "akx.json").write_text(json.dumps(report, indent=1))
    plot(report, out)
    print(f"wrote {out / 'akx.json'} and {out / 'akx.png'}")


if __name__ == "__main__":
    main()
