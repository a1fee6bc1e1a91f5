"""Sparse matrix powers and communication-avoiding CG, specialized to native code.

The third specializer of the SciPy 2011 paper ("Matrix Powers"): for a sparse
square A and a vector x, the basis [x, Ax, A^2 x, ..., A^k x] (or a Newton or
Chebyshev basis of the same Krylov space) with the PA1 algorithm (Hoemmen,
2010; Mohiyuddin, Hoemmen, Demmel and Yelick, SC09): each thread computes
the ghost zone of its rows itself, so the k levels of a pass need no
synchronisation and the matrix streams from memory once per pass instead of
once per level; cache blocks keep the levels of a block of rows in cache
(asp/_akx_plan.py says how). The kernels are the ``akx`` plugin's
hand-written sources (plugins/akx/kernels); the plan's shape (thread and
cache blocks, METIS or contiguous rows, levels per pass, 16-bit column
offsets) is chosen by :func:`tune`, which remembers its choice for the
matrix's structure across processes.

- :func:`matrix_powers` and :class:`MatrixPowers` (``obj(x, m)``,
  ``obj.powers(vecs)`` in place as the original did);
- :func:`tune`, the original's entry point;
- :func:`leja_shifts`, Newton shifts that keep the basis well conditioned;
- :func:`cg`, a drop-in for :func:`scipy.sparse.linalg.cg` (s-step CG on the
  matrix-powers kernel when unpreconditioned).

Where nothing can specialize a call, SciPy computes it after an
:class:`asp.FallbackWarning` (``ASP_STRICT=1`` raises
:class:`asp.SpecializationError` instead); ``last_call`` says what ran.
"""
from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import time
import warnings
import zlib
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import asp
from asp import _akx_plan
from asp.stencil import LastCall

__all__ = ["LastCall", "Layout", "MatrixPowers", "cg", "leja_shifts", "matrix_powers", "tune"]

_BASES = ("monomial", "newton", "chebyshev")
_DEVICE_BACKENDS = ("opencl", "cuda")
_DEVICE_GROUPS = 256  # work-groups of a device plan (plugins/akx: 64 work-items each)
# The plan a specialization is asked for: only its arrays' types count (the core reads no values).
_PLACEHOLDER = _akx_plan.Plan(np.zeros((1, 3), dtype=np.int64), np.zeros((2, 2), dtype=np.int64), 1, 0, 0, 1.0)


def _powers_program(indptr, cols, data, stanzas, plan, vecs, coef, n, np1, nnz, s, cp1, mp1, m, k, fingerprint):
    """Levels 1..m of vecs from level 0, in passes of k levels: the plugin 'akx' specializes it."""


def _spmv_program(indptr, cols, data, rows, x, y, n, np1, nnz, cp1):
    """y = A x: the plugin 'akx' specializes it."""


def _dia_powers_program(offsets, data, stanzas, plan, vecs, coef, n, nd, s, cp1, mp1, m, k, fingerprint):
    """_powers_program on the diagonal form: the plugin 'akx' specializes it."""


def _dia_spmv_program(offsets, data, rows, x, y, n, nd, cp1):
    """_spmv_program on the diagonal form: the plugin 'akx' specializes it."""


def _cg_program(indptr, cols, data, rows, b, x, r, p, q, d, state, part, n, np1, nnz, cp1, maxiter, tol):
    """CG steps, preconditioned by diagonal d where state says so (r = b - A x first, then at most maxiter steps until norm(r) < tol or a
    breakdown), the loop native: the plugin 'akx' specializes it."""


def _dia_cg_program(offsets, data, rows, b, x, r, p, q, d, state, part, n, nd, cp1, maxiter, tol):
    """_cg_program on the diagonal form: the plugin 'akx' specializes it."""


def _sdia_powers_program(offsets, data, stanzas, plan, vecs, coef, n, nd, s, cp1, mp1, m, k, fingerprint):
    """_powers_program on the symmetric diagonal form: the plugin 'akx' specializes it."""


def _sdia_spmv_program(offsets, data, rows, x, y, n, nd, cp1):
    """_spmv_program on the symmetric diagonal form: the plugin 'akx' specializes it."""


def _sdia_cg_program(offsets, data, rows, b, x, r, p, q, d, state, part, n, nd, cp1, maxiter, tol):
    """_cg_program on the symmetric diagonal form: the plugin 'akx' specializes it."""


# The program of each kind for each form: the CSR forms (i32, d16) share theirs, the type of cols tells
# them apart; the diagonal forms (dia, sdia: the same arrays) have one each.
_PROGRAMS = {("powers", "csr"): _powers_program, ("spmv", "csr"): _spmv_program, ("cg", "csr"): _cg_program,
             ("powers", "dia"): _dia_powers_program, ("spmv", "dia"): _dia_spmv_program, ("cg", "dia"): _dia_cg_program,
             ("powers", "sdia"): _sdia_powers_program, ("spmv", "sdia"): _sdia_spmv_program,
             ("cg", "sdia"): _sdia_cg_program}


def _program(kind: str, encoding: str):
    """The Python function that stands for the program of `kind` on a matrix in `encoding`."""
    return _PROGRAMS[kind, encoding if encoding in ("dia", "sdia") else "csr"]
# The diagonal form is offered for matrices whose nonzeros lie on at most this many diagonals, holding
# at most this many times the nonzeros (the zeros of a diagonal are computed too).
_DIA_DIAGONALS = 32
_DIA_FILL = 1.5
# The register tiles (r x r) with kernels (plugins/akx forms b2x2 ...), offered where they hold at most this
# many times the nonzeros.
_TILES = (2, 3, 4)
_TILE_FILL = 1.5


def _tile_size(encoding: str) -> int:
    """r of a register-tiled form "b<r>x<r>"."""
    return int(encoding[1:encoding.index("x")])


# ---- the matrix ---------------------------------------------------------------------------------


def _float_dtype(dtype: np.dtype, what: str) -> np.dtype:
    if dtype in (np.float32, np.float64):
        return np.dtype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"{what} is complex ({dtype}): asp.akx computes with float32 or float64 only")
    raise TypeError(f"{what} has dtype {dtype}: asp.akx needs float32 or float64 (convert with .astype(np.float64))")


class _Matrix:
    """A validated square CSR matrix in the forms the kernels read: int64 row pointers, int32 column
    indices and, where every |column - row| < 2^15, int16 offsets; the diagonal form where the nonzeros
    lie on a few diagonals, and its symmetric form (the diagonals at offsets >= 0) where the matrix also
    equals its transpose; and its structure's fingerprint."""

    def __init__(self, A: Any) -> None:
        import scipy.sparse as sparse

        try:
            csr = sparse.csr_array(A)
        except (TypeError, ValueError) as error:
            raise TypeError(f"A must be a matrix scipy.sparse.csr_array accepts (sparse or dense): {error}") from None
        if csr.ndim != 2 or csr.shape[0] != csr.shape[1]:
            raise ValueError(f"A must be square, not of shape {csr.shape}")
        self.dtype = _float_dtype(csr.dtype, "A")
        if not csr.has_canonical_format:
            csr = csr.copy()
            csr.sum_duplicates()
        if not np.isfinite(csr.data).all():
            raise ValueError("A has NaN or infinite entries: its powers would be NaN")
        self.csr = csr
        self.n = csr.shape[0]
        self.nnz = csr.nnz
        if self.nnz >= 2**31:
            raise ValueError(f"A has {self.nnz} nonzeros: asp.akx takes fewer than 2^31")
        self.indptr = csr.indptr.astype(np.int64)
        self.indices = csr.indices.astype(np.int32, copy=False)
        self.data = np.ascontiguousarray(csr.data)
        rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
        offsets = self.indices - rows
        self.offsets = offsets.astype(np.int16) if self.nnz and np.abs(offsets).max() < 2**15 else None
        if self.nnz == 0:
            self.offsets = np.zeros(0, dtype=np.int16)
        self._diagonal_offsets = np.unique(offsets)
        self._arrays: Dict[str, dict] = {}  # encoding -> the programs' matrix arguments, built on first use
        self._symmetric: Optional[bool] = None
        self._tile_counts: Dict[int, int] = {}  # tile size -> tiles of the BSR form (0: it does not fit)
        self.has_diagonal_form = (0 < len(self._diagonal_offsets) <= _DIA_DIAGONALS
                                  and len(self._diagonal_offsets) * self.n <= _DIA_FILL * self.nnz)
        crc = zlib.crc32(self.indices.tobytes(), zlib.crc32(self.indptr.tobytes()))
        self.fingerprint = ((self.n * 1_000_003 + self.nnz) * 4_294_967_311 + crc) % (2**62)

    @property
    def symmetric(self) -> bool:
        """Whether the matrix equals its transpose exactly (pattern, explicit zeros and values)."""
        if self._symmetric is None:
            t = self.csr.T.tocsr()
            t.sort_indices()
            self._symmetric = bool(np.array_equal(t.indptr, self.csr.indptr) and np.array_equal(t.indices, self.csr.indices)
                                   and np.array_equal(t.data, self.csr.data))
        return self._symmetric

    def _tiles(self, r: int) -> int:
        """The r x r tiles of the register-tiled form, or 0 where they would hold more than _TILE_FILL
        times the nonzeros (the fill's zeros are computed too)."""
        if r not in self._tile_counts:
            count = 0
            if self.nnz and self.n >= r:
                rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
                block_cols = self.indices.astype(np.int64) // r
                # A lower bound first, cheap for the usual misfit: a block row has at least as many tiles as
                # its fullest row has distinct block columns (a row's columns are sorted).
                starts = np.ones(self.nnz, dtype=bool)
                starts[1:] = (block_cols[1:] != block_cols[:-1]) | (rows[1:] != rows[:-1])
                per_row = np.bincount(rows[starts], minlength=self.n)
                padded = np.zeros(-(-self.n // r) * r, dtype=np.int64)
                padded[:self.n] = per_row
                if padded.reshape(-1, r).max(axis=1).sum() * r * r <= _TILE_FILL * self.nnz:
                    count = len(np.unique((rows // r) * (-(-self.n // r)) + block_cols))
                    if count * r * r > _TILE_FILL * self.nnz:
                        count = 0
            self._tile_counts[r] = count
        return self._tile_counts[r]

    def encodings(self, tiled: bool = True) -> List[str]:
        """The forms this matrix has: "i32" always; "d16", "dia", "sdia" and (unless not `tiled`) the
        register tiles "b2x2", "b3x3", "b4x4" where they fit."""
        diagonal = ["dia"] + (["sdia"] if self.symmetric else []) if self.has_diagonal_form else []
        tiles = [f"b{r}x{r}" for r in _TILES if self._tiles(r)] if tiled else []
        return ["i32"] + (["d16"] if self.offsets is not None else []) + diagonal + tiles

    def most_compact(self) -> str:
        """The form with the fewest bytes a row. Tiles hold at least every nonzero's value, so they are
        counted (which takes a pass over the nonzeros) only where no other form is already as small."""
        best = min(self.encodings(tiled=False), key=self.bytes_per_row)
        if self.bytes_per_row(best) <= self.nnz * self.dtype.itemsize / max(1, self.n):
            return best
        return min(self.encodings(), key=self.bytes_per_row)

    def _stored_offsets(self, encoding: str) -> np.ndarray:
        """The diagonals a diagonal form stores: all of them, or (sdia) those at offsets >= 0, whose
        mirrors the kernels read o rows back."""
        return self._diagonal_offsets[self._diagonal_offsets >= 0] if encoding == "sdia" else self._diagonal_offsets

    def bytes_per_row(self, encoding: str) -> float:
        """The bytes of the matrix a row reads from memory in this form (coefficients and indices)."""
        item = self.dtype.itemsize
        if encoding in ("dia", "sdia"):
            return len(self._stored_offsets(encoding)) * item
        if encoding.startswith("b"):
            r = _tile_size(encoding)
            return self._tiles(r) * (r * r * item + 4) / max(1, self.n)
        return self.nnz * (item + (2 if encoding == "d16" else 4)) / max(1, self.n)

    def arrays(self, encoding: str) -> dict:
        """The matrix's arguments of the programs of this form."""
        if encoding in self._arrays:
            return self._arrays[encoding]
        if encoding in ("dia", "sdia"):
            rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
            offsets = self.indices - rows
            keep = offsets >= 0 if encoding == "sdia" else np.ones(self.nnz, dtype=bool)
            stored = self._stored_offsets(encoding)
            diagonals = np.zeros((len(stored), self.n), dtype=self.dtype)
            diagonals[np.searchsorted(stored, offsets[keep]), rows[keep]] = self.data[keep]
            arrays = {"offsets": stored, "data": diagonals}
        elif encoding.startswith("b"):
            import scipy.sparse as sparse

            r = _tile_size(encoding)
            size = -(-self.n // r) * r  # padded with zero rows and columns to whole tiles
            indptr = np.concatenate([self.indptr, np.full(size - self.n, self.indptr[-1])])
            bsr = sparse.csr_array((self.data, self.indices, indptr), shape=(size, size)).tobsr(blocksize=(r, r))
            bsr.sort_indices()
            arrays = {"indptr": bsr.indptr.astype(np.int64), "cols": bsr.indices.astype(np.int32),
                      "data": np.ascontiguousarray(bsr.data, dtype=self.dtype)}
        else:
            arrays = {"indptr": self.indptr, "cols": self.offsets if encoding == "d16" else self.indices, "data": self.data}
        self._arrays[encoding] = arrays
        return arrays

    def pattern(self, encoding: str) -> Tuple[np.ndarray, np.ndarray]:
        """(indptr, indices) of what a row of this form reads: its nonzeros or, in the diagonal and tiled
        forms, every column its diagonals or tiles cover (their zeros are read too, so the plan must
        compute those rows' values before they are read)."""
        import scipy.sparse as sparse

        n = self.n
        if encoding in ("dia", "sdia"):
            offsets = self._diagonal_offsets
            cover = sparse.diags_array([np.ones(n - abs(int(o)), dtype=np.int8) for o in offsets],
                                       offsets=[int(o) for o in offsets], shape=(n, n), format="csr", dtype=np.int8)
        elif encoding.startswith("b"):
            tiles = self.arrays(encoding)
            r = tiles["data"].shape[1]
            size = (len(tiles["indptr"]) - 1) * r
            ones = np.ones(tiles["data"].shape, dtype=np.int8)
            cover = sparse.bsr_array((ones, tiles["cols"], tiles["indptr"]), shape=(size, size)).tocsr()[:n, :n]
            cover.sort_indices()
        else:
            return self.indptr, self.indices
        return cover.indptr.astype(np.int64), cover.indices

    def sizes(self, encoding: str) -> dict:
        if encoding in ("dia", "sdia"):
            return {"nd": len(self._stored_offsets(encoding))}
        if encoding.startswith("b"):
            tiles = self.arrays(encoding)
            return {"np1": len(tiles["indptr"]), "nnz": len(tiles["cols"])}
        return {"np1": self.n + 1, "nnz": self.nnz}


# ---- specializations ------------------------------------------------------------------------------

_specialized: Dict[tuple, Any] = {}  # (program, dtype, encoding) -> asp.Specialized, or a str: why not


def _specialize(function, key: tuple, arguments) -> Any:
    """The specialization of `function` for `key`, or why there is none; arguments() describes the call
    (it runs only when the program is not specialized yet)."""
    if asp.disabled():
        return "ASP_DISABLE is set"
    specialized = _specialized.get(key)
    if specialized is None:
        try:
            specialized = asp.specialize("akx", function, arguments())
        except asp.UnsupportedError as error:
            specialized = error.reason
        except (asp.CompileError, RuntimeError) as error:
            if asp.strict():
                raise
            specialized = f"the akx program could not be built: {error}"
        _specialized[key] = specialized
    return specialized


def _threads() -> int:
    for name in ("ASP_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return max(1, len(os.sched_getaffinity(0)))


def _cache_sizes() -> Tuple[int, int]:
    """(bytes of a core's L2 or the closest level, bytes of the last level), from the platform probe."""
    caches = [c for c in asp._core.platform()["caches"] if c["kind"] in ("data", "unified") and c["size"] > 0]
    if not caches:
        return 1 << 20, 8 << 20
    second = [c for c in caches if c["depth"] == 2] or caches
    return int(second[0]["size"]), int(max(c["size"] for c in caches))


@dataclass(frozen=True)
class Layout:
    """The shape of a matrix-powers plan, the variant :func:`tune` chooses.

    partition : ``"contiguous"`` (row ranges of equal work) or ``"metis"`` (k-way graph partitions)
    threads : thread blocks (each ghost zone computed by one thread)
    rows_per_block : rows of a cache block (0: one block per thread block)
    levels : levels per pass (the matrix streams once per pass)
    encoding : ``"i32"`` column indices, ``"d16"`` int16 offsets from the row, ``"dia"`` the diagonal
        form (for matrices whose nonzeros lie on a few diagonals: no indices at all), ``"sdia"`` its
        symmetric form (a symmetric matrix's diagonals at offsets >= 0 only: half the coefficients), or
        ``"b2x2"``, ``"b3x3"``, ``"b4x4"`` register tiles (dense r x r blocks, one index each)
    """

    partition: str
    threads: int
    rows_per_block: int
    levels: int
    encoding: str

    def __str__(self) -> str:
        blocks = f"cache blocks of {self.rows_per_block} rows" if self.rows_per_block else "no cache blocks"
        return (f"{self.partition}, {self.threads} thread blocks, {blocks}, {self.levels} levels per pass, "
                f"{self.encoding}")


def _default_layout(matrix: _Matrix, k: int) -> Layout:
    """The layout before any tuning: contiguous thread blocks, the most compact form, cache blocks whose
    matrix rows and levels fill about half a core's L2."""
    l2, _ = _cache_sizes()
    levels = max(1, min(k, _akx_plan.MAX_LEVELS))
    encoding = matrix.most_compact()
    per_row = matrix.bytes_per_row(encoding) + (levels + 1) * matrix.dtype.itemsize
    rows = max(64, int(l2 / 2 / max(per_row, 1)))
    return Layout("contiguous", _threads(), rows, levels, encoding)


# ---- the tuning record ----------------------------------------------------------------------------


def _record_path() -> str:
    directory = asp.setting("cache.dir") or os.path.join(os.path.expanduser("~"), ".cache", "asp")
    return os.path.join(str(directory), "akx-tuning.json")


def _record_key(matrix: _Matrix, k: int, backend: str) -> str:
    return f"{matrix.fingerprint}:{matrix.n}:{matrix.nnz}:{matrix.dtype}:{k}:{backend}:{_threads()}"


def _recorded(matrix: _Matrix, k: int, backend: str) -> Optional[Layout]:
    try:
        with open(_record_path(), encoding="utf-8") as f:
            entry = json.load(f).get(_record_key(matrix, k, backend))
        layout = Layout(**entry["layout"]) if entry else None
        # A METIS layout recorded where libmetis was installed is no use without it.
        return None if layout and layout.partition == "metis" and not _akx_plan.metis_available() else layout
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _remember(matrix: _Matrix, k: int, backend: str, layout: Layout, measured: List[Tuple[Layout, float]]) -> None:
    path = _record_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, encoding="utf-8") as f:
                records = json.load(f)
        except (OSError, ValueError):
            records = {}
        records[_record_key(matrix, k, backend)] = {
            "layout": asdict(layout), "measured": [[str(l), t] for l, t in measured]}
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
        os.replace(temporary, path)
    except OSError as error:
        warnings.warn(f"asp.akx could not keep its tuning record in {path}: {error}", RuntimeWarning, stacklevel=3)


# ---- the operator -----------------------------------------------------------------------------------


class MatrixPowers:
    """The matrix powers kernel of one matrix, specialized on first use.

    Parameters
    ----------
    A : sparse matrix or array_like
        Square, float32 or float64, anything :class:`scipy.sparse.csr_array` accepts.
    k : int
        Levels per call (``obj(x)`` returns k + 1 rows); k >= 0.
    basis : {"monomial", "newton", "chebyshev"}
        ``monomial``: v[i+1] = A v[i]. ``newton``: v[i+1] = (A - shifts[i] I) v[i] (shifts of length k,
        repeated for calls of more levels). ``chebyshev`` on ``interval=(a, b)``: with c = (a+b)/2 and
        h = (b-a)/2, v[1] = (A - cI) v[0] / h and v[i+1] = 2 (A - cI) v[i] / h - v[i-1].
    shifts : sequence of float, optional
        The Newton shifts (see :func:`leja_shifts`).
    interval : (float, float), optional
        The Chebyshev interval, a < b (an estimate of A's spectrum).
    layout : Layout, optional
        The plan's shape; by default the one :func:`tune` recorded for this matrix's structure, else a
        default sized from the platform's caches.
    comm : mpi4py communicator, optional
        Distributes the matrix by rows (DESIGN.md §10): each rank passes its block of consecutive rows of
        A (rank 0 the first; shape (rows, n) in global column numbering) and, to each call, the same rows
        of x; a call returns this rank's columns of the basis, (m + 1, rows). PA1 across ranks: each call
        receives the k-level ghost rows' values once (asp/_akx_mpi.py), then runs this rank's extended
        block natively. Collective: every rank constructs and calls together. The Chebyshev basis then
        computes at most k levels per call.

    Attributes
    ----------
    last_call : LastCall or None
        What the most recent call ran.
    """

    def __init__(self, A: Any, k: int, basis: str = "monomial", shifts: Optional[Sequence[float]] = None,
                 interval: Optional[Tuple[float, float]] = None, *, layout: Optional[Layout] = None,
                 comm: Any = None) -> None:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"k must be an integer, not {type(k).__name__}")
        if k < 0:
            raise ValueError(f"k must be >= 0, not {k}")
        self._distributed = None
        if comm is not None:
            from asp._akx_mpi import DistributedPowers

            self._distributed = DistributedPowers(A, int(k), comm, basis, shifts, interval, layout)
            A = self._distributed.local._matrix
        self._matrix = A if isinstance(A, _Matrix) else _Matrix(A)
        self.k = int(k)
        if basis not in _BASES:
            raise ValueError(f"basis must be one of {', '.join(_BASES)}, not {basis!r}")
        self.basis = basis
        self.shifts = None
        self.interval = None
        if basis == "newton":
            if shifts is None:
                raise ValueError("the Newton basis needs shifts (of length k; asp.akx.leja_shifts(A, k) gives good ones)")
            self.shifts = self._check_shifts(shifts, self.k)
        elif shifts is not None:
            raise ValueError(f"shifts are for the Newton basis, not {basis!r}")
        if basis == "chebyshev":
            if interval is None or len(interval) != 2:
                raise ValueError("the Chebyshev basis needs interval=(a, b), an estimate of A's spectrum")
            a, b = (float(v) for v in interval)
            if not (math.isfinite(a) and math.isfinite(b) and a < b):
                raise ValueError(f"the Chebyshev interval must be finite with a < b, not {interval}")
            self.interval = (a, b)
        elif interval is not None:
            raise ValueError(f"interval is for the Chebyshev basis, not {basis!r}")
        self._layout = layout
        self._plans: Dict[tuple, _akx_plan.Plan] = {}
        self._rows: Dict[int, np.ndarray] = {}
        self._warned: set = set()
        self.last_call: Optional[LastCall] = None

    # -- properties --

    @property
    def n(self) -> int:
        """The matrix's order."""
        if self._distributed is not None:
            return self._distributed.n_global
        return self._matrix.n

    @property
    def dtype(self) -> np.dtype:
        """The element type of the matrix and of the vectors computed."""
        return self._matrix.dtype

    @property
    def layout(self) -> Layout:
        """The plan's shape the native kernel runs (chosen on first use)."""
        if self._layout is None:
            self._layout = _recorded(self._matrix, self.k, self._cpu_or_device()) or _default_layout(self._matrix, self.k)
        return self._layout

    # -- public calls --

    def __call__(self, x: Any, m: Optional[int] = None) -> np.ndarray:
        """The (m + 1, n) basis from x (m defaults to k and may exceed it: then several passes)."""
        if self._distributed is not None:
            result = self._distributed(x, m)
            self.last_call = self._distributed.last_call
            return result
        steps = self.k if m is None else self._check_steps(m)
        x = self._check_vector(x)
        vecs = np.empty((steps + 1, self.n), dtype=self.dtype)
        vecs[0] = x
        self._run(vecs, self._coefficients(steps))
        return vecs

    def powers(self, vecs: np.ndarray) -> None:
        """Fills rows 1..m of the (m + 1, n) array vecs in place from row 0, in this object's basis."""
        if self._distributed is not None:
            if not (isinstance(vecs, np.ndarray) and vecs.ndim == 2 and vecs.flags.writeable):
                raise ValueError("vecs must be a writable (m + 1, rows) array")
            vecs[1:] = self(vecs[0], vecs.shape[0] - 1)[1:]
            return
        vecs = self._check_vecs(vecs)
        self._in_place(vecs, self._coefficients(vecs.shape[0] - 1))

    def newton(self, vecs: np.ndarray, shifts: Sequence[float]) -> None:
        """Fills rows 1..m of vecs in place with the Newton basis of these m shifts (the original's API)."""
        if self._distributed is not None:
            raise ValueError("with comm=, give the shifts to MatrixPowers(A, k, 'newton', shifts, comm=comm) and call it")
        vecs = self._check_vecs(vecs)
        steps = vecs.shape[0] - 1
        shifts = self._check_shifts(shifts, steps)
        self._in_place(vecs, self._newton(shifts, steps))

    def spmv(self, x: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
        """A @ x with the specialized SpMV (into out, a C-contiguous vector of this dtype, if given)."""
        if self._distributed is not None:
            y = self._distributed.spmv(x)
            self.last_call = self._distributed.last_call
            if out is None:
                return y
            out[:] = y
            return out
        x = np.ascontiguousarray(self._check_vector(x))
        if out is None:
            out = np.empty(self.n, dtype=self.dtype)
        elif not (isinstance(out, np.ndarray) and out.shape == (self.n,) and out.dtype == self.dtype
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous {self.dtype} vector of length {self.n}")
        return self._spmv(x, out)

    def _spmv(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """spmv of a checked x into a checked out (C-contiguous vectors of this dtype)."""
        matrix = self._matrix
        if self.n == 0:
            return out
        encoding = self.layout.encoding
        arguments = {**matrix.arrays(encoding), "rows": self._row_chunks(), "x": x, "y": out, "n": self.n,
                     **matrix.sizes(encoding), "cp1": len(self._row_chunks())}
        specialized = _specialize(_program("spmv", encoding), ("spmv", self.dtype, encoding),
                                  lambda: arguments)
        if isinstance(specialized, str):
            self._fall_back(specialized)
            out[:] = matrix.csr @ x
            return out
        variant = specialized(*arguments.values())
        self.last_call = LastCall(specialized.backend, specialized.variants[variant], None)
        return out

    # -- checks --

    def _check_steps(self, m: Any) -> int:
        if isinstance(m, bool) or not isinstance(m, numbers.Integral):
            raise TypeError(f"m must be an integer, not {type(m).__name__}")
        if m < 0:
            raise ValueError(f"m must be >= 0, not {m}")
        return int(m)

    def _check_vector(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 1 or x.shape[0] != self.n:
            raise ValueError(f"x must be a vector of length {self.n} (the matrix's order), not of shape {x.shape}")
        _float_dtype(x.dtype, "x")
        if not np.isfinite(x).all():
            raise ValueError("x has NaN or infinite entries")
        return x.astype(self.dtype, copy=False)

    def _check_vecs(self, vecs: Any) -> np.ndarray:
        if not isinstance(vecs, np.ndarray) or vecs.ndim != 2 or vecs.shape[1] != self.n:
            raise ValueError(f"vecs must be an (m + 1, {self.n}) array, not {getattr(vecs, 'shape', type(vecs))}")
        if vecs.dtype != self.dtype:
            _float_dtype(vecs.dtype, "vecs")
            raise TypeError(f"vecs must have the matrix's dtype {self.dtype}, not {vecs.dtype}")
        if not vecs.flags.writeable:
            raise ValueError("vecs must be writable: its rows 1..m are filled in place")
        if vecs.shape[0] < 1:
            raise ValueError("vecs needs at least its row 0 (x)")
        if not np.isfinite(vecs[0]).all():
            raise ValueError("vecs[0] has NaN or infinite entries")
        return vecs

    @staticmethod
    def _check_shifts(shifts: Any, count: int) -> np.ndarray:
        values = np.asarray(shifts, dtype=np.float64).ravel() if not np.iscomplexobj(shifts) else None
        if values is None:
            raise TypeError("shifts must be real (complex Newton shifts are not supported)")
        if len(values) != count:
            raise ValueError(f"the Newton basis needs {count} shifts, not {len(values)}")
        if not np.isfinite(values).all():
            raise ValueError("shifts must be finite")
        return values

    # -- coefficients: level i+1 = alpha (A v_i) + beta v_i + gamma v_{i-1} --

    def _coefficients(self, steps: int) -> np.ndarray:
        if self.basis == "newton":
            return self._newton(np.resize(self.shifts, steps) if len(self.shifts) else np.zeros(steps), steps)
        coef = np.zeros((steps, 3))
        if self.basis == "monomial":
            coef[:, 0] = 1.0
        else:
            a, b = self.interval
            c, h = (a + b) / 2, (b - a) / 2
            coef[:, 0], coef[:, 1], coef[:, 2] = 2 / h, -2 * c / h, -1.0
            if steps:
                coef[0] = (1 / h, -c / h, 0.0)
        return coef

    @staticmethod
    def _newton(shifts: np.ndarray, steps: int) -> np.ndarray:
        coef = np.zeros((steps, 3))
        coef[:, 0] = 1.0
        coef[:, 1] = -shifts[:steps]
        return coef

    # -- running --

    def _cpu_or_device(self) -> str:
        """The device backend that runs this dtype's powers, or "cpu" (their plans differ): the backend of
        a specialization of this dtype, specializing the int32-index program to find out if none exists."""
        known = [v for key, v in _specialized.items() if key[:2] == ("powers", self.dtype)]
        if not known:
            layout = Layout("contiguous", 1, 0, 1, "i32")
            vecs = np.zeros((2, self.n), dtype=self.dtype)
            known = [_specialize(_powers_program, ("powers", self.dtype, "i32"),
                                 lambda: self._arguments(self._matrix, layout, _PLACEHOLDER, vecs, np.zeros((1, 3))))]
        backend = getattr(known[0], "backend", None)
        return backend if backend in _DEVICE_BACKENDS else "cpu"

    def _row_chunks(self) -> np.ndarray:
        threads = self.layout.threads
        if threads not in self._rows:
            self._rows[threads] = _akx_plan.row_chunks(self._matrix.indptr, threads)
        return self._rows[threads]

    def _plan(self, layout: Layout, steps: int, device: bool) -> _akx_plan.Plan:
        levels = min(layout.levels, steps)
        key = (layout, levels, steps % levels, device)
        plan = self._plans.get(key)
        if plan is None:
            matrix = self._matrix
            if device:
                blocks = _akx_plan.device_blocks(matrix.indptr, _DEVICE_GROUPS)
            elif layout.partition == "metis":
                blocks = _akx_plan.metis_blocks(matrix.csr, layout.threads, layout.rows_per_block or matrix.n)
            else:
                blocks = _akx_plan.contiguous_blocks(matrix.indptr, layout.threads, layout.rows_per_block or matrix.n)
            indptr, indices = matrix.pattern(layout.encoding)
            # A device plan's many small work-groups recompute much of their neighbours' rows: the price of
            # passes without synchronisation between work-groups, which only timing can weigh.
            limit = {"max_redundancy": math.inf} if device else {}
            plan = _akx_plan.build(indptr, indices, levels, steps % levels, blocks, **limit)
            self._plans[key] = plan
        return plan

    def _in_place(self, vecs: np.ndarray, coef: np.ndarray) -> None:
        if vecs.flags.c_contiguous:
            self._run(vecs, coef)
        else:
            work = np.ascontiguousarray(vecs)
            self._run(work, coef)
            vecs[1:] = work[1:]

    def _fall_back(self, reason: str) -> None:
        self.last_call = LastCall(None, None, reason)
        if asp.strict() and reason != "ASP_DISABLE is set":
            raise asp.SpecializationError(f"asp.akx: {reason}")
        if reason not in self._warned and reason != "ASP_DISABLE is set":
            self._warned.add(reason)
            warnings.warn(f"asp.akx runs SciPy: {reason}", asp.FallbackWarning, stacklevel=4)

    def _run(self, vecs: np.ndarray, coef: np.ndarray, layout: Optional[Layout] = None) -> None:
        """Levels 1.. of vecs, with the given layout (tune's candidates: a plan that costs too much raises
        TooCostly) or this object's (then such a plan gives way to plain SpMV passes, for good)."""
        steps = vecs.shape[0] - 1
        if steps == 0 or self.n == 0:
            self.last_call = LastCall(None, None, "nothing to compute")
            return
        matrix = self._matrix
        if layout is None:
            layout = self.layout
            try:
                self._plan(layout, steps, self._cpu_or_device() != "cpu")
            except _akx_plan.TooCostly:
                layout = self._layout = Layout("contiguous", layout.threads, 0, 1, layout.encoding)
        specialized = _specialize(_program("powers", layout.encoding), ("powers", self.dtype, layout.encoding),
                                  lambda: self._arguments(matrix, layout, _PLACEHOLDER, vecs, coef))
        if isinstance(specialized, str):
            self._fall_back(specialized)
            self._scipy(vecs, coef)
            return
        plan = self._plan(layout, steps, specialized.backend in _DEVICE_BACKENDS)
        arguments = self._arguments(matrix, layout, plan, vecs, coef)
        variant = specialized(*arguments.values())
        self.last_call = LastCall(specialized.backend, specialized.variants[variant], None)

    @staticmethod
    def _arguments(matrix: _Matrix, layout: Layout, plan: _akx_plan.Plan, vecs: np.ndarray, coef: np.ndarray) -> dict:
        return {**matrix.arrays(layout.encoding), "stanzas": plan.stanzas, "plan": plan.chunks, "vecs": vecs,
                "coef": np.ascontiguousarray(coef), "n": matrix.n, **matrix.sizes(layout.encoding),
                "s": plan.stanzas.shape[0], "cp1": plan.chunks.shape[1], "mp1": vecs.shape[0],
                "m": vecs.shape[0] - 1, "k": plan.levels, "fingerprint": matrix.fingerprint}

    def _scipy(self, vecs: np.ndarray, coef: np.ndarray) -> None:
        a = self._matrix.csr
        for i in range(vecs.shape[0] - 1):
            alpha, beta, gamma = coef[i]
            v = a @ vecs[i]
            if alpha != 1:
                v = alpha * v
            if beta != 0:
                v = v + beta * vecs[i]
            if gamma != 0 and i >= 1:
                v = v + gamma * vecs[i - 1]
            vecs[i + 1] = v


def matrix_powers(A: Any, x: Any, k: int, basis: str = "monomial", shifts: Optional[Sequence[float]] = None,
                  interval: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """The (k + 1, n) basis [x, Ax, ..., A^k x] (or its Newton or Chebyshev form; see :class:`MatrixPowers`).

    For one call; :class:`MatrixPowers` keeps the specialization and the plan for the next ones.
    """
    return MatrixPowers(A, k, basis, shifts, interval)(x)


# ---- tuning -------------------------------------------------------------------------------------


def _forms(matrix: _Matrix, k: int, backend: str) -> List[Layout]:
    """The first round of tune(): every form of the matrix and partition, at the default block size."""
    default = _default_layout(matrix, k)
    # METIS where the matrix is not banded (a banded one's row ranges already have the smallest cuts).
    metis = backend == "cpu" and _akx_plan.metis_available() and matrix.offsets is None
    return [Layout(partition, default.threads, default.rows_per_block if backend == "cpu" else 0, default.levels, form)
            for partition in ["contiguous"] + (["metis"] if metis else []) for form in matrix.encodings()]


def _shapes(matrix: _Matrix, k: int, backend: str, best: Layout) -> List[Layout]:
    """The second round: the levels per pass and cache-block sizes (from the platform's caches) for the
    best form and partition of the first (on a device, the levels only), and plain SpMV passes."""
    l2, last = _cache_sizes()
    out = []
    for level in sorted({k, max(1, (k + 1) // 2), max(1, (k + 3) // 4), 1}, reverse=True):
        per_row = (matrix.nnz / max(1, matrix.n)) * (matrix.dtype.itemsize + 2) + (level + 1) * matrix.dtype.itemsize
        sizes = sorted({max(64, int(b / per_row)) for b in (l2 / 2, l2, 4 * l2, last / best.threads)})
        sizes = [size for size in sizes if size < matrix.n] + [0] if backend == "cpu" else [0]
        out.extend(Layout(best.partition, best.threads, rows, level, best.encoding) for rows in sizes)
    # Plain SpMV passes (one level, one block of contiguous rows per thread) in every form: what the
    # matrix-powers kernel must beat, and the best choice where ghost zones grow too fast (irregular
    # matrices) or a partition's scattered rows make many short stanzas.
    out.extend(Layout("contiguous", best.threads, 0, 1, form) for form in matrix.encodings())
    return list(dict.fromkeys(out))


def _time(obj: MatrixPowers, vecs: np.ndarray, coef: np.ndarray, layout: Layout, budget: float) -> float:
    """The best time of a call with this layout, over a few calls (the first ones let the core's tuner settle)."""
    best = math.inf
    start = time.perf_counter()
    for attempt in range(12):
        t = time.perf_counter()
        try:
            obj._run(vecs, coef, layout)
        except _akx_plan.TooCostly:
            return math.inf
        best = min(best, time.perf_counter() - t)
        if attempt >= 3 and time.perf_counter() - start > budget:
            break
    return best


def tune(A: Any, k: int, symmetric: bool = False, basis: int = 0, *, shifts: Optional[Sequence[float]] = None,
         progress: Optional[bool] = None) -> MatrixPowers:
    """The original's entry point: times the plan shapes for this matrix and returns the fastest.

    Parameters
    ----------
    A : sparse matrix or array_like
        Square, float32 or float64.
    k : int
        Levels per call.
    symmetric : bool
        Accepted for the original's signature; symmetric (upper-triangle) storage is not a variant yet,
        so it changes nothing.
    basis : int
        0 for the monomial basis, 1 for Newton (the returned object's ``newton(vecs, shifts)``; its
        ``powers`` then uses `shifts`, default :func:`leja_shifts`); anything else raises ValueError.
    progress : bool, optional
        Show a tqdm progress bar; by default when the search runs longer than a second.

    The search runs in two rounds: first the matrix's forms (int32 indices; int16 offsets and the
    diagonal form where they fit) and partitions (contiguous rows; METIS too for a matrix that is not
    banded) at the default block size, then, for the best of them, the levels per pass (k, k/2, k/4, 1)
    and cache-block sizes from the platform's caches. Ctrl-C stops it early and keeps the best layout
    measured so far. The choice is recorded (in the cache directory, keyed by a
    fingerprint of the matrix's structure), so MatrixPowers of the same structure in a later process
    starts with it.
    """
    if basis not in (0, 1) or isinstance(basis, bool):
        raise ValueError(f"unknown basis type {basis!r}: 0 (monomial) or 1 (Newton)")
    matrix = _Matrix(A)
    if basis == 1:
        chosen = np.asarray(shifts if shifts is not None else leja_shifts(matrix.csr, k), dtype=np.float64)
        obj = MatrixPowers(matrix, k, "newton", chosen)
    else:
        obj = MatrixPowers(matrix, k)
    if k == 0 or matrix.n == 0:
        return obj
    rng = np.random.default_rng(0)
    vecs = np.zeros((k + 1, matrix.n), dtype=matrix.dtype)
    vecs[0] = rng.standard_normal(matrix.n)
    coef = obj._coefficients(k)
    obj._run(vecs, coef)
    if obj.last_call.backend is None:
        return obj  # SciPy runs it: nothing to tune
    backend = obj._cpu_or_device()
    measured: List[Tuple[Layout, float]] = []
    began = time.perf_counter()
    bar = None
    candidates = _forms(matrix, k, backend)
    try:
        for round in (1, 2):
            if round == 2:
                tried = {layout for layout, _ in measured}
                best = min(measured, key=lambda item: item[1])[0]
                candidates = [c for c in _shapes(matrix, k, backend, best) if c not in tried]
                if bar is not None:
                    bar.total = len(measured) + len(candidates)
                    bar.refresh()
            for index, layout in enumerate(candidates):
                measured.append((layout, _time(obj, vecs, coef, layout, 0.25)))
                obj._plans.clear()  # plans of other layouts are not needed again
                if bar is None and (progress or (progress is None and time.perf_counter() - began > 1.0)):
                    from tqdm.auto import tqdm

                    left = len(candidates) - index - 1  # in this round (the second's size is not known yet)
                    bar = tqdm(total=len(measured) + left, initial=len(measured), desc="asp.akx.tune", unit="layout")
                elif bar is not None:
                    bar.update(1)
    except KeyboardInterrupt:
        if not measured:
            raise
        warnings.warn(f"asp.akx.tune interrupted: the best of the {len(measured)} layouts measured is kept",
                      RuntimeWarning, stacklevel=2)
    finally:
        if bar is not None:
            bar.close()
    best = min(measured, key=lambda item: item[1])[0]  # plain SpMV passes are never too costly
    _remember(matrix, k, backend, best, measured)
    obj._layout = best
    return obj


# ---- Krylov solvers (asp._cg) ------------------------------------------------------------------


def leja_shifts(A: Any, k: int) -> np.ndarray:
    """k Newton shifts: Ritz values of a few Lanczos steps on A, in Leja order (see asp._cg.leja_shifts)."""
    from asp import _cg

    return _cg.leja_shifts(A, k)


def _native_operator(s: int):
    def make(csr):
        shifts = np.zeros(s)
        obj = MatrixPowers(csr.astype(np.float64), s, "newton", shifts)
        return _Operator(obj)

    return make


class _Operator:
    """The native operator asp._cg.cg runs on: SpMV and Newton-basis powers of one float64 matrix."""

    def __init__(self, obj: MatrixPowers) -> None:
        self._obj = obj
        self.n = obj.n
        self.dtype = np.dtype(np.float64)

    def matvec(self, x: np.ndarray, out: np.ndarray) -> None:
        self._obj._spmv(x, out)  # the operator's contract: C-contiguous float64 vectors, checked by asp._cg

    def powers(self, V: np.ndarray, shifts: np.ndarray) -> None:
        self._obj._run(V, MatrixPowers._newton(shifts, V.shape[0] - 1))

    @property
    def last_call(self) -> Optional[LastCall]:
        return self._obj.last_call


# The native CG program's state vector (plugins/akx/kernels/cg.c).
_CG_RNORM, _CG_RHO_PREV, _CG_BREAKDOWN, _CG_DONE, _CG_FIRST, _CG_JACOBI = 1, 2, 4, 5, 6, 8


_warned_cg: set = set()  # why the native CG program could not run, each said once per process


class _NativeCG:
    """The native CG program (plugins/akx cg.c) as asp._cg.cg's ``native`` solver: SciPy's loop without a
    preconditioner or with a diagonal one (d: z = d r), every step of it in the program, with a true-residual check (on the program's first pass: r =
    b - A x) each time the recursive residual has converged."""

    def __init__(self) -> None:
        self.backend: Optional[str] = None
        self.variant: Optional[str] = None

    def __call__(self, csr: Any, b: np.ndarray, x: np.ndarray, tol: float, maxiter: int,
                 diagonal: Optional[np.ndarray] = None) -> Optional[Tuple[int, int]]:
        obj = MatrixPowers(csr, 1)
        matrix = obj._matrix
        if obj._cpu_or_device() != "cpu":
            return None  # no device kernels: the s-step solver runs on the device's powers kernel
        encoding = obj.layout.encoding
        rows = obj._row_chunks()
        n = matrix.n
        r, p, q = (np.empty(n) for _ in range(3))
        state = np.zeros(9)
        state[_CG_FIRST] = 1
        state[_CG_JACOBI] = diagonal is not None
        d = np.ascontiguousarray(diagonal, dtype=np.float64) if diagonal is not None else np.ones(n)  # unread
        arguments = {**matrix.arrays(encoding), "rows": rows, "b": b, "x": x, "r": r, "p": p, "q": q, "d": d,
                     "state": state, "part": np.zeros((2, len(rows))), "n": n, **matrix.sizes(encoding), "cp1": len(rows), "maxiter": 0,
                     "tol": float(tol)}
        specialized = _specialize(_program("cg", encoding), ("cg", np.dtype(np.float64), encoding),
                                  lambda: arguments)
        if isinstance(specialized, str):
            if specialized != "ASP_DISABLE is set" and specialized not in _warned_cg:
                _warned_cg.add(specialized)
                warnings.warn(f"asp.akx.cg runs its s-step solver, not the native CG program: {specialized}",
                              asp.FallbackWarning, stacklevel=4)
            return None
        if specialized.backend in _DEVICE_BACKENDS:
            return None  # no device kernels: the s-step solver runs on the device's powers kernel
        self.backend = specialized.backend

        def run(steps: int) -> None:
            arguments["maxiter"] = steps
            variant = specialized(*arguments.values())
            self.variant = specialized.variants[variant]

        while True:
            done = int(state[_CG_DONE])
            run(maxiter - done)
            if state[_CG_BREAKDOWN]:
                return -10, int(state[_CG_DONE])
            done = int(state[_CG_DONE])
            rnorm = state[_CG_RNORM]
            if not (rnorm < tol or rnorm == 0.0):
                return maxiter, done  # the loop ran out of steps
            run(0)  # the true residual: r = b - A x, and only that
            rnorm = state[_CG_RNORM]
            if rnorm < tol or rnorm == 0.0:
                return 0, done
            if done >= maxiter:
                return maxiter, done
            # the recursive residual had drifted: go on from the true one, keeping the direction


def cg(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: Optional[int] = None,
       M: Any = None, callback: Any = None, s: int = 4, method: str = "auto", comm: Any = None) -> Tuple[np.ndarray, int]:
    """Conjugate gradients, a drop-in for :func:`scipy.sparse.linalg.cg` (same arguments, results and
    errors; see asp._cg.cg for the conventions kept and the few deliberate differences).

    What runs (``asp._cg.last_solve.method`` says which, ``.backend`` on which backend):

    - ``"native"``: SciPy's CG loop as one native program of the akx plugin (three fused passes over the
      vectors per step, deterministic parallel dot products), when ``method`` is ``"auto"`` (the default)
      or ``"native"``, A is a matrix (sparse or dense, real), there is no preconditioner or ``M`` is a
      sparse diagonal matrix (Jacobi; finite entries), no ``A.psolve``, no ``callback``, and the backend
      is a CPU one (openmp, pthreads). Convergence of the recursive residual is confirmed on the true one.
    - ``"s-step"``: Chronopoulos-Gear s-step CG on the matrix-powers kernel (``s`` steps per call) when
      ``method="s-step"``, or when the native program cannot run (a callback, a device backend such as
      OpenCL, the program not built).
    - ``"pcg"``: PCG on the specialized SpMV with any other preconditioner, or on ``A.matvec`` for a
      LinearOperator.
    - ``"scipy"``: :func:`scipy.sparse.linalg.cg` itself for complex input.

    ``method="native"`` only prefers the native program: where it cannot run, the s-step path does.

    With ``comm`` (an mpi4py communicator), A, b and x0 are distributed by rows as for
    :class:`MatrixPowers` and x comes back as this rank's rows: s-step CG whose matrix-powers calls
    exchange ghost rows once per s steps and whose Gram matrix is summed over the ranks once per s
    steps (asp/_akx_mpi.py); no preconditioner yet (M must be None). Collective.
    """
    from asp import _cg

    if comm is not None:
        from asp import _akx_mpi, _mpi

        with _mpi.collective(comm):
            if M is not None or hasattr(A, "psolve"):
                raise ValueError("with comm=, asp.akx.cg takes no preconditioner yet (M must be None)")
        return _akx_mpi.cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback, s=s, comm=comm)

    if method not in ("auto", "native", "s-step"):
        raise ValueError(f"method must be 'auto', 'native' or 's-step', not {method!r}")
    native = _NativeCG() if method != "s-step" else None
    # BLAS on one thread while the native kernels run between its calls: OpenBLAS's idle threads spin
    # for a while after each call, on the cores the kernels' threads need (measured here: four times
    # slower solves with BLAS's default threads).
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    with threadpool_limits(1, "blas") if threadpool_limits else contextlib.nullcontext():
        return _cg.cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback, s=s,
                      make_operator=_native_operator(s), native=native)
