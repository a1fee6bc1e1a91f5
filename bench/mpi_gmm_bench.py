"""Weak scaling of distributed GMM training (asp.gmm.GaussianMixture(comm=...)) on 1 and 2 MPI ranks.

Every rank holds the same number of events (weak scaling) and runs one thread (OMP_NUM_THREADS=1
for the openmp backend, ASP_NUM_THREADS=1 for pthreads). Per rank:

- iteration: the time of one EM iteration with comm (fused E/M pass, the all-reduce of the
  statistics S and the log-likelihood, the M-step): (fit of 11 iterations - fit of 1) / 10,
  tol = 0 so every fit runs all its iterations, best of --repeat;
- compute: the same on the rank's shard without comm (no all-reduce), all ranks at once, so they
  share the machine as in the distributed run;
- allreduce: iteration - compute, and, measured directly, the reduce + broadcast of a buffer the
  size of S (the core's allreduce_sum: on rank 0, then broadcast) through mpi4py.

Weak-scaling efficiency = iteration(1 rank) / iteration(2 ranks).

Usage: .venv/bin/python bench/mpi_gmm_bench.py [--events 100000] [--d 16] [--m 16] [--out bench/results]
(it starts mpirun itself; --worker is the per-rank part). Writes mpi_gmm.json to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def worker(args) -> None:
    import warnings

    import numpy as np
    from mpi4py import MPI

    from asp.gmm import GaussianMixture, _features, _round_up

    comm = MPI.COMM_WORLD
    n, d, m = args.events, args.d, args.m
    rng = np.random.default_rng(100 + comm.rank)
    X = rng.normal(size=(n, d)) + rng.integers(0, 4, size=(n, 1))
    init = np.random.default_rng(0).normal(size=(m, d))
    options = dict(n_components=m, covariance_type=args.covariance, tol=0.0, weights_init=np.full(m, 1 / m),
                   means_init=init, precisions_init=np.broadcast_to(np.eye(d), (m, d, d)).copy())

    def fit(iterations, distributed):
        comm.Barrier()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(max_iter=iterations, comm=comm if distributed else None, **options).fit(X)
        return time.perf_counter() - start

    def per_iteration(distributed):
        fit(2, distributed)  # warm-up: the specialization and the tuner's exploration
        fit(11, distributed)
        best = []
        for _ in range(args.repeat):
            best.append((fit(11, distributed) - fit(1, distributed)) / 10)
        return min(best)

    iteration = per_iteration(True)
    compute = per_iteration(False)
    kp = _round_up(_features(d, {"full": 0, "diag": 2}[args.covariance]), 4)
    mp = _round_up(m, 16)
    S = np.zeros(kp * mp + 1)
    for _ in range(5):
        comm.Reduce(MPI.IN_PLACE if comm.rank == 0 else S, S if comm.rank == 0 else None, root=0)
        comm.Bcast(S, root=0)
    reps = 200
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(reps):
        comm.Reduce(MPI.IN_PLACE if comm.rank == 0 else S, S if comm.rank == 0 else None, root=0)
        comm.Bcast(S, root=0)
    raw = (time.perf_counter() - start) / reps
    rows = comm.gather({"rank": comm.rank, "iteration_s": iteration, "compute_s": compute,
                        "allreduce_s": iteration - compute, "raw_allreduce_s": raw, "S_bytes": S.nbytes}, root=0)
    if comm.rank == 0:
        print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per rank")
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--covariance", choices=["full", "diag"], default="full")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", ASP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    results = {"events_per_rank": args.events, "d": args.d, "m": args.m, "covariance": args.covariance, "runs": {}}
    for ranks in args.ranks:
        command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", sys.executable, __file__,
                   "--worker", "--events", str(args.events), "--d", str(args.d), "--m", str(args.m),
                   "--covariance", args.covariance, "--repeat", str(args.repeat)]
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        rows = json.loads(output.strip().splitlines()[-1])
        results["runs"][ranks] = rows
        for row in rows:
            print(f"{ranks} rank(s), rank {row['rank']}: iteration {row['iteration_s'] * 1e3:8.2f} ms = compute "
                  f"{row['compute_s'] * 1e3:8.2f} ms + all-reduce {row['allreduce_s'] * 1e3:7.3f} ms "
                  f"(reduce + broadcast of S, {row['S_bytes']} bytes, alone: {row['raw_allreduce_s'] * 1e6:.1f} us)")
    if 1 in results["runs"] and 2 in results["runs"]:
        one = max(row["iteration_s"] for row in results["runs"][1])
        two = max(row["iteration_s"] for row in results["runs"][2])
        results["weak_scaling_efficiency_1_to_2"] = one / two
        print(f"weak-scaling efficiency 1 -> 2 ranks: {one / two:.1%} (iteration {one * 1e3:.2f} ms -> {two * 1e3:.2f} ms)")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mpi_gmm.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
