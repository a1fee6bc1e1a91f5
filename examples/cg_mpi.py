"""Communication-avoiding CG and matrix powers across MPI ranks, checked against one process.

    mpirun -n 4 --oversubscribe .venv/bin/python examples/cg_mpi.py

Every rank builds the same 2-D Poisson matrix (256² unknowns) but passes only its block of rows to
asp.akx: the matrix powers kernel exchanges ghost rows once per k levels, s-step CG once per s steps
(plus one reduction of the Gram matrix). Rank 0 prints the agreement with one process.
"""
import time

import numpy as np
import scipy.sparse as sparse
from mpi4py import MPI

from asp import _cg, akx

comm = MPI.COMM_WORLD
side = 256
t = sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(side, side))
A = sparse.csr_array(sparse.kronsum(t, t))
n = A.shape[0]
b = np.random.default_rng(0).standard_normal(n)
cuts = np.linspace(0, n, comm.size + 1).astype(int)
rows = slice(cuts[comm.rank], cuts[comm.rank + 1])

powers = akx.MatrixPowers(A[rows], 8, comm=comm)(b[rows])
basis = np.concatenate(comm.allgather(powers), axis=1)

comm.Barrier()
start = time.perf_counter()
x, info = akx.cg(A[rows], b[rows], rtol=1e-8, s=4, comm=comm)
elapsed = comm.allreduce(time.perf_counter() - start, op=MPI.MAX)
steps = _cg.last_solve.iterations
whole = np.concatenate(comm.allgather(x))

if comm.rank == 0:
    one = akx.MatrixPowers(A, 8)(b)
    reference, _ = _cg.cg(A, b, rtol=1e-8, s=4)
    print(f"{comm.size} ranks, Poisson {side}² ({n} unknowns)")
    print(f"matrix powers k=8: bitwise equal to one process: {np.array_equal(basis, one)}")
    print(f"cg: info {info}, {steps} steps ({_cg.last_solve.iterations} on one process), {elapsed * 1e3:.0f} ms")
    print(f"    relative difference from one process: {np.abs(whole - reference).max() / np.abs(reference).max():.1e}")
    print(f"    true residual: {np.linalg.norm(b - A @ whole) / np.linalg.norm(b):.1e} (rtol 1e-8)")
