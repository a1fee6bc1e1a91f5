"""Distributed GMM training: each MPI rank holds a shard of the events, every rank ends with one model.

Run: mpirun -n 4 --oversubscribe .venv/bin/python examples/gmm_mpi.py [N]

Every rank draws the same synthetic data set (N events, 8 features, 5 clusters), keeps its
contiguous shard (rank r holds a share proportional to r + 1: the shards are uneven) and fits
asp.gmm.GaussianMixture(comm=MPI.COMM_WORLD) from the same initial parameters. Rank 0 then fits
one process's model on all N events and prints how the two agree; every rank checks that its
model is bit for bit rank 0's.
"""
import sys
import time

import numpy as np
from mpi4py import MPI

from asp.gmm import GaussianMixture

comm = MPI.COMM_WORLD
n, d, m = (int(sys.argv[1]) if len(sys.argv) > 1 else 200_000), 8, 5

rng = np.random.default_rng(2011)
centres = rng.normal(scale=5.0, size=(m, d))
X = np.concatenate([c + rng.normal(size=(n // m, d)) for c in centres])[rng.permutation(n // m * m)]
shares = np.arange(1, comm.size + 1)
edges = np.round(np.concatenate([[0], np.cumsum(shares)]) / shares.sum() * X.shape[0]).astype(int)
mine = X[edges[comm.rank]:edges[comm.rank + 1]]

# Initial parameters that do not depend on the split: means at spread events, unit precisions.
options = dict(n_components=m, covariance_type="full", tol=1e-6, max_iter=100,
               weights_init=np.full(m, 1 / m), means_init=X[:: X.shape[0] // m][:m],
               precisions_init=np.broadcast_to(np.eye(d), (m, d, d)).copy())

comm.Barrier()
start = time.perf_counter()
model = GaussianMixture(comm=comm, **options).fit(mine)
elapsed = time.perf_counter() - start

state = np.concatenate([model.weights_, model.means_.ravel(), model.covariances_.ravel(), [model.lower_bound_]])
identical = all(comm.allgather(state.tobytes() == comm.bcast(state.tobytes(), root=0)))
print(f"rank {comm.rank}: {mine.shape[0]} events, fit in {elapsed:.2f} s, {model.n_iter_} iterations, "
      f"lower bound {model.lower_bound_:.12f}, model identical to rank 0's: {identical}", flush=True)
comm.Barrier()
if comm.rank == 0:
    start = time.perf_counter()
    alone = GaussianMixture(**options).fit(X)
    single = time.perf_counter() - start
    difference = max(float(np.max(np.abs(getattr(model, a) - getattr(alone, a))) / np.max(np.abs(getattr(alone, a))))
                     for a in ("weights_", "means_", "covariances_"))
    print(f"one process on all {X.shape[0]} events: {single:.2f} s, {alone.n_iter_} iterations, "
          f"lower bound {alone.lower_bound_:.12f}")
    print(f"{comm.size} ranks vs one process: largest difference of the parameters (relative to their largest) {difference:.1e}, "
          f"of the lower bound {abs(model.lower_bound_ - alone.lower_bound_) / abs(alone.lower_bound_):.1e}, "
          f"same iterations: {model.n_iter_ == alone.n_iter_}")
    ok = identical and difference < 1e-10 and model.n_iter_ == alone.n_iter_
    print("agreement:", "yes" if ok else "NO")
    sys.exit(0 if ok else 1)
