"""Weak scaling of the 3-D 7-point Laplacian over MPI (asp.stencil.StencilGrid(comm=...)).

Each rank holds an N^3 block (the global grid is (ranks * N, N, N), split
along axis 0) and runs STEPS ping-pong steps (each call reads the grid the
last one wrote, so every call exchanges one halo), one thread per rank. Per
rank, a step's time is split into
  compute   the same kernel on a plain StencilGrid of the rank's block shape
  halo      asp._core.halo_exchange of that block alone
  other     the rest of the distributed call: the checks that make a bad
            argument raise on every rank (an allgather), the halo-version
            all-reduce, the dispatcher's slow path, and waiting for the other
            rank (on a loaded machine, for the scheduler to run it)
  compute+barrier  the plain kernel with an MPI_Barrier after each step:
            what one synchronisation per step costs on this machine, no data moved
Weak-scaling efficiency = step time on 1 rank / step time on R ranks; on a
shared machine also compute / step within each run (what communication and
the checks cost, apart from the ranks slowing each other's compute).

Usage: .venv/bin/python bench/mpi_bench.py [--n 128] [--steps 20] [--ranks 1,2] [--out bench/results]
(it starts mpirun itself; as root it sets OMPI_ALLOW_RUN_AS_ROOT). Writes mpi_stencil.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def worker(n: int, steps: int) -> None:
    import numpy as np
    from mpi4py import MPI

    from asp import _core
    from asp.stencil import StencilGrid, StencilKernel

    class Laplacian3D(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = -6.0 * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + in_grid[y]

    comm = MPI.COMM_WORLD
    shape = (comm.size * n, n, n)
    rng = np.random.default_rng(comm.rank)
    a = StencilGrid(shape, comm=comm)
    b = StencilGrid(shape, comm=comm)
    a.data[...] = rng.standard_normal(a.shape)
    lap = Laplacian3D()
    plain_a, plain_b = StencilGrid.from_array(a.data.copy()), StencilGrid(a.shape)
    plain = Laplacian3D()
    for _ in range(3):  # compile, tune, warm
        lap.kernel(a, b)
        lap.kernel(b, a)
        plain.kernel(plain_a, plain_b)

    def timed(run) -> float:
        comm.Barrier()
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    def steps_distributed() -> None:
        for _ in range(steps // 2):
            lap.kernel(a, b)
            lap.kernel(b, a)

    def steps_plain() -> None:
        for _ in range(steps // 2):
            plain.kernel(plain_a, plain_b)
            plain.kernel(plain_b, plain_a)

    def steps_plain_barrier() -> None:  # the machine's cost of one synchronisation per step, no data moved
        for _ in range(steps // 2):
            plain.kernel(plain_a, plain_b)
            comm.Barrier()
            plain.kernel(plain_b, plain_a)
            comm.Barrier()

    layout = a.decomposition

    def steps_halo() -> None:
        for _ in range(steps):
            _core.halo_exchange(layout.handle, a._data, layout.ghost)

    rounds = 5
    step = statistics.median(timed(steps_distributed) for _ in range(rounds)) / (steps // 2 * 2)
    compute = statistics.median(timed(steps_plain) for _ in range(rounds)) / (steps // 2 * 2)
    halo = statistics.median(timed(steps_halo) for _ in range(rounds)) / steps
    barrier = statistics.median(timed(steps_plain_barrier) for _ in range(rounds)) / (steps // 2 * 2)
    faces = sum(lo > 0 for lo in layout.halo_low) + sum(hi > 0 for hi in layout.halo_high)
    mine = {"rank": comm.rank, "block": list(a.shape), "step_s": step, "compute_s": compute, "halo_s": halo,
            "other_s": step - compute - halo, "faces": faces, "compute_barrier_s": barrier, "backend": lap.last_call.backend,
            "halo_bytes": faces * n * n * layout.ghost * a.data.itemsize}
    every = comm.gather(mine, root=0)
    if comm.rank == 0:
        print(json.dumps({"ranks": comm.size, "n": n, "steps": steps, "per_rank": every}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.n, args.steps)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", ASP_NUM_THREADS="1")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    runs = []
    for ranks in (int(r) for r in args.ranks.split(",")):
        command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", sys.executable, __file__,
                   "--worker", "--n", str(args.n), "--steps", str(args.steps)]
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    base = max(r["step_s"] for r in runs[0]["per_rank"])
    print(f"3-D 7-point Laplacian, float64, {args.n}^3 points per rank, one thread per rank "
          f"(backend {runs[0]['per_rank'][0]['backend']})")
    print(f"{'ranks':>5} {'rank':>4} {'step ms':>8} {'compute':>8} {'halo':>8} {'other':>8} {'halo KiB':>8} "
          f"{'compute+barrier':>15}")
    for run in runs:
        for r in run["per_rank"]:
            print(f"{run['ranks']:>5} {r['rank']:>4} {r['step_s'] * 1e3:8.3f} {r['compute_s'] * 1e3:8.3f} "
                  f"{r['halo_s'] * 1e3:8.3f} {r['other_s'] * 1e3:8.3f} {r['halo_bytes'] / 1024:8.0f} "
                  f"{r['compute_barrier_s'] * 1e3:15.3f}")
        slowest = max(r["step_s"] for r in run["per_rank"])
        run["efficiency"] = base / slowest
        # On a shared machine the ranks also slow each other's compute (memory
        # bandwidth, other jobs): compute / step in the same run is the part
        # that communication and the call's checks take away.
        run["compute_fraction"] = min(r["compute_s"] / r["step_s"] for r in run["per_rank"])
        print(f"      weak-scaling efficiency vs 1 rank: {100 * run['efficiency']:.1f}%; "
              f"compute / step (slowest rank): {100 * run['compute_fraction']:.1f}%")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mpi_stencil.json").write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    main()
