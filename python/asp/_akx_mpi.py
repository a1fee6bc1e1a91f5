"""Matrix powers across MPI ranks: PA1 with one ghost exchange per k levels (issue 14, DESIGN.md §10).

Each rank holds a block of consecutive rows of A (rank 0 the first rows, in global column
numbering) and the same rows of x. Before the first call, the ranks find each rank's k-level ghost
zone: the rows within graph distance k of its own rows (level j = the columns of level j-1's rows
that are not yet known). A rank needs the values of x on all of them and the matrix rows of those
at distance < k, which it fetches once. Its **extended matrix** is square over its own rows and its
ghosts, numbered in global order, so each row's entries keep their global order and its sums are
those of one process (bitwise, for the monomial basis). The rows at distance k are empty: their
values at levels >= 1 are wrong, but no own row's level <= k depends on them (PA1's redundant work
on ghost rows buys the missing synchronisation). A call exchanges x's ghost values once, with one
MPI_Alltoallv, then runs the one-process kernel of :mod:`asp.akx` on the extended matrix.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from asp import _mpi


def _by_owner(offsets: np.ndarray, rows: np.ndarray, ranks: int) -> List[np.ndarray]:
    """Sorted global rows split by the rank that owns them (owners hold consecutive ranges)."""
    cuts = np.searchsorted(rows, offsets)
    return [rows[cuts[r]:cuts[r + 1]] for r in range(ranks)]


class DistributedPowers:
    """The matrix powers kernel of a row-distributed matrix (see :class:`asp.akx.MatrixPowers`, ``comm=``).

    ``A`` is this rank's rows (shape (rows, n), n the global order), ``comm`` an mpi4py
    intracommunicator; collective: every rank constructs and calls it together.
    """

    def __init__(self, A: Any, k: int, comm: Any, basis: str, shifts: Optional[Sequence[float]],
                 interval: Optional[Tuple[float, float]], layout: Any) -> None:
        import scipy.sparse as sparse

        from asp import akx

        _mpi.handle(comm)  # a communicator, with MPI initialized
        self.comm = comm
        self.k = k
        self.basis = basis
        with _mpi.collective(comm):
            try:
                local = sparse.csr_array(A)
            except (TypeError, ValueError) as error:
                raise TypeError(f"A must be this rank's rows as a matrix scipy.sparse.csr_array accepts: {error}") from None
            if local.ndim != 2:
                raise ValueError(f"A must be a matrix of this rank's rows, not of shape {local.shape}")
            if not local.has_canonical_format:
                local = local.copy()
                local.sum_duplicates()
        counts = comm.allgather(local.shape[0])
        widths = comm.allgather(local.shape[1])
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        order = int(self.offsets[-1])
        with _mpi.collective(comm):
            if len(set(widths)) != 1 or widths[0] != order:
                raise ValueError(f"the ranks' rows must have n = {order} columns (the global order: the sum of "
                                 f"every rank's row count), not {widths}")
        self.n_global = order
        rank, ranks = comm.rank, comm.size
        lo, hi = int(self.offsets[rank]), int(self.offsets[rank + 1])
        self.rows = hi - lo

        # The ghost zone, level by level; the matrix rows of levels < k are fetched from their owners.
        fetched: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        ghosts = np.zeros(0, dtype=np.int64)
        columns = np.unique(local.indices.astype(np.int64))
        depth = max(k, 1)  # at least the first level, which spmv() needs
        for level in range(1, depth + 1):
            new = np.setdiff1d(columns, ghosts)
            new = new[(new < lo) | (new >= hi)]
            ghosts = np.union1d(ghosts, new)
            if level == depth:
                break
            replies = self._exchange_rows(local, lo, _by_owner(self.offsets, new, ranks))
            columns = [np.zeros(0, dtype=np.int64)]
            for rows, lengths, indices, data in replies:
                for row, start, stop in zip(rows, np.cumsum(lengths) - lengths, np.cumsum(lengths)):
                    fetched[int(row)] = (indices[start:stop], data[start:stop])
                columns.append(indices)
            columns = np.unique(np.concatenate(columns))
        self.ghosts = ghosts
        self.before = int(np.searchsorted(ghosts, lo))  # ghost rows numbered before this rank's own rows
        extended = np.concatenate([ghosts[:self.before], np.arange(lo, hi, dtype=np.int64), ghosts[self.before:]])

        # The extended matrix in global order; ghost rows at distance k stay empty.
        def ghost_rows(rows: np.ndarray) -> Tuple[List[int], List[np.ndarray], List[np.ndarray]]:
            pieces = [fetched.get(int(r), (np.zeros(0, np.int64), np.zeros(0, local.dtype))) for r in rows]
            return [len(p[0]) for p in pieces], [p[0] for p in pieces], [p[1] for p in pieces]

        first, last = ghost_rows(ghosts[:self.before]), ghost_rows(ghosts[self.before:])
        lengths = np.concatenate([np.asarray(first[0], np.int64), np.diff(local.indptr).astype(np.int64),
                                  np.asarray(last[0], np.int64)])
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([np.zeros(0, np.int64), *first[1], local.indices.astype(np.int64), *last[1]])
        data = np.concatenate([np.zeros(0, local.dtype), *first[2], local.data, *last[2]])
        mapped = np.searchsorted(extended, indices)
        matrix = sparse.csr_array((data.astype(local.dtype, copy=False), mapped.astype(np.int64), indptr),
                                  shape=(len(extended), len(extended)))

        # Who needs which of my rows' values, once per call.
        wanted = comm.alltoall(_by_owner(self.offsets, ghosts, ranks))
        self.send = np.concatenate([np.asarray(w, dtype=np.int64) - lo for w in wanted]) if wanted else np.zeros(0, np.int64)
        self.send_counts = np.array([len(w) for w in wanted], dtype=np.int64)
        self.recv_counts = np.array([len(g) for g in _by_owner(self.offsets, ghosts, ranks)], dtype=np.int64)
        with _mpi.collective(comm):
            if not np.isfinite(data).all():
                raise ValueError("A has NaN or infinite entries: its powers would be NaN")
            self.local = akx.MatrixPowers(matrix, k, basis, shifts, interval, layout=layout)

    def _exchange_rows(self, local: Any, lo: int, requests: List[np.ndarray]) -> list:
        """Every rank's rows that the others asked for: (rows, lengths, indices, data) from each owner."""
        asked = self.comm.alltoall(requests)
        answers = []
        for rows in asked:
            positions = np.asarray(rows, dtype=np.int64) - lo
            starts, stops = local.indptr[positions], local.indptr[positions + 1]
            take = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)]) if len(positions) else np.zeros(0, np.int64)
            answers.append((rows, (stops - starts).astype(np.int64), local.indices[take].astype(np.int64), local.data[take]))
        return self.comm.alltoall(answers)

    # -- calls --

    @property
    def last_call(self):
        return self.local.last_call

    @property
    def dtype(self) -> np.dtype:
        return self.local.dtype

    def _extend(self, x: np.ndarray) -> np.ndarray:
        """x on the extended rows: this rank's values and its ghosts' from their owners (one Alltoallv)."""
        from mpi4py import MPI

        send = np.ascontiguousarray(x[self.send])
        received = np.empty(len(self.ghosts), dtype=x.dtype)
        kind = MPI.DOUBLE if x.dtype == np.float64 else MPI.FLOAT
        self.comm.Alltoallv([send, self.send_counts, kind], [received, self.recv_counts, kind])
        return np.concatenate([received[:self.before], x, received[self.before:]])

    def check_vector(self, x: Any) -> np.ndarray:
        with _mpi.collective(self.comm):
            x = np.asarray(x)
            if x.ndim != 1 or x.shape[0] != self.rows:
                raise ValueError(f"x must be this rank's {self.rows} entries, not of shape {x.shape}")
            if not np.isfinite(x).all():
                raise ValueError("x has NaN or infinite entries")
        return x.astype(self.dtype, copy=False)

    def __call__(self, x: Any, m: Optional[int] = None) -> np.ndarray:
        steps = self.k if m is None else int(m)
        x = self.check_vector(x)
        with _mpi.collective(self.comm):
            if steps < 0:
                raise ValueError(f"m must be >= 0, not {steps}")
            if steps > self.k and self.basis == "chebyshev":
                raise ValueError(f"with comm=, the Chebyshev basis computes at most k = {self.k} levels per call "
                                 f"(its recurrence needs two vectors at a pass's start): pass m <= k or a larger k")
        out = np.empty((steps + 1, self.rows), dtype=self.dtype)
        out[0] = x
        own = slice(self.before, self.before + self.rows)
        done = 0
        while done < steps:
            # A pass of up to k levels from the last one computed; the Newton shifts repeat every k
            # levels, so every pass starts at the first shift, as one process's passes do.
            levels = min(self.k, steps - done)
            out[done + 1:done + levels + 1] = self.local(self._extend(out[done]), levels)[1:, own]
            done += levels
        return out

    def spmv(self, x: Any) -> np.ndarray:
        x = self.check_vector(x)
        return self.local.spmv(self._extend(x))[self.before:self.before + self.rows]

    def newton(self, vecs: np.ndarray, shifts: np.ndarray) -> None:
        """Rows 1..m (m <= k) of this rank's vecs in place: the Newton basis of these shifts from row 0."""
        extended = np.empty((vecs.shape[0], len(self.ghosts) + self.rows), dtype=self.dtype)
        extended[0] = self._extend(np.ascontiguousarray(vecs[0], dtype=self.dtype))
        self.local.newton(extended, shifts)
        vecs[1:] = extended[1:, self.before:self.before + self.rows]


class _RowsOperator:
    """asp._cg's operator on this rank's rows: SpMV and Newton-basis powers with one ghost exchange each."""

    def __init__(self, powers: DistributedPowers) -> None:
        self.powers_of = powers
        self.n = powers.rows

    def matvec(self, x: np.ndarray, out: np.ndarray) -> None:
        out[:] = self.powers_of.spmv(x)

    def powers(self, V: np.ndarray, shifts: np.ndarray) -> None:
        self.powers_of.newton(V, shifts)


def cg(A: Any, b: Any, x0: Any, *, rtol: float, atol: float, maxiter: Optional[int],
       callback: Any, s: int, comm: Any) -> Tuple[np.ndarray, int]:
    """:func:`asp.akx.cg` with A, b and x0 distributed by rows (``comm=``): s-step CG (asp/_cg.py) whose
    matrix-powers calls exchange ghost rows once per s steps and whose Gram matrix is summed over the
    ranks once per s steps; the other dot products (the residual's norm) are one reduction each."""
    from asp import _cg

    with _mpi.collective(comm):
        s = _cg._check_s(s)
        rtol, atol = _cg._check_tolerances(rtol, atol)
        _cg._check_callback(callback)
    with _mpi.collective(comm):
        import scipy.sparse as sparse

        try:
            A = sparse.csr_array(A)
        except (TypeError, ValueError) as error:
            raise TypeError(f"A must be this rank's rows as a matrix scipy.sparse.csr_array accepts: {error}") from None
        if np.iscomplexobj(A.data):
            raise TypeError("with comm=, A must be real")
    a_dtype = A.dtype
    powers = DistributedPowers(A.astype(np.float64), s, comm, "monomial", None, None, None)
    rows = powers.rows
    with _mpi.collective(comm):
        b_vec = np.asarray(b)
        if b_vec.ndim == 2 and b_vec.shape[1:] == (1,):
            b_vec = b_vec[:, 0]
        if b_vec.shape != (rows,):
            raise ValueError(f"b must be this rank's {rows} entries, not of shape {np.shape(b)}")
        if np.iscomplexobj(b_vec):
            raise TypeError("with comm=, b must be real")
        xtype = np.float32 if a_dtype == np.float32 and b_vec.dtype == np.float32 else np.float64
        b_vec = np.array(b_vec, dtype=np.float64)
        if not np.isfinite(b_vec).all():
            raise ValueError("b has NaN or infinite entries")
        x = np.zeros(rows) if x0 is None else np.array(np.asarray(x0, dtype=np.float64).reshape(-1))
        if x.shape != (rows,):
            raise ValueError(f"x0 must be this rank's {rows} entries, not of shape {np.shape(x0)}")
        if not np.isfinite(x).all():
            raise ValueError("x0 has NaN or infinite entries")
        maxiter = _cg._check_maxiter(maxiter, powers.n_global)

    def total(values: np.ndarray) -> np.ndarray:
        return _mpi.total(comm, values)

    op = _RowsOperator(powers)
    record = _cg.SolveRecord("s-step")
    _cg.last_solve = record
    bnorm = float(np.sqrt(total(np.dot(b_vec, b_vec))))
    tol = max(atol, rtol * bnorm)
    if bnorm == 0.0:
        return np.zeros(rows, dtype=xtype), 0
    r = b_vec.copy()
    if total(float(x.any())) > 0:
        op.matvec(x, r)
        np.subtract(b_vec, r, out=r)
    problem = _cg._Problem(op.matvec, b_vec, x, tol, maxiter, callback, record, total)
    own = slice(int(powers.offsets[comm.rank]), int(powers.offsets[comm.rank + 1]))
    shifts = _cg._leja_shifts(op.matvec, rows, s, True, total, own, powers.n_global)
    try:
        info = _cg._sstep(problem, op, r, s, shifts)
    except _cg._Fallback as fallback:
        record.fallback = fallback.reason
        problem.true_residual(r)
        info = _cg._pcg(problem, r, None)
    return x.astype(xtype, copy=False), info

