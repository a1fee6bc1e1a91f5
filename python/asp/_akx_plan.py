"""Plans of the matrix-powers kernel (plugins/akx/kernels/powers.c): how the
rows of a CSR matrix are split into thread blocks and cache blocks, and the
stanzas each thread block computes.

PA1 (Hoemmen, "Communication-Avoiding Krylov Subspace Methods", 2010;
Mohiyuddin, Hoemmen, Demmel and Yelick, SC09) computes L levels of
x, Ax, ..., A^L x with one pass over the matrix: a block of rows needs, at
level l, the rows of its (L - l)-level ghost zone (the rows within graph
distance L - l of it) at level l - 1. A thread block computes its whole
ghost zone itself, so threads synchronise only between passes. Within a
thread block, cache blocks are taken in turn: for each, the rows of its
ghost zone that the thread block has not computed yet, level by level, so
that a cache block's levels stay in cache and no row is computed twice by
one thread ("implicit" cache blocks: the matrix is not copied). A stanza is
(level, first row, end row) of such rows.

The ghost zones are found by breadth-first search over the pattern, with
NumPy, in time proportional to the nonzeros of the rows visited.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

__all__ = ["Plan", "TooCostly", "build", "contiguous_blocks", "device_blocks", "metis_blocks", "metis_available", "row_chunks"]

MAX_LEVELS = 126  # the distances of a search are int8


class TooCostly(Exception):
    """A plan whose ghost zones cost more than it can save: more search work, or more redundant row-levels,
    than build() allows (the original specializer gave up on redundant flops too)."""


@dataclass
class Plan:
    """A plan for passes of `levels` levels and, when the last pass of a call
    is shorter, of `tail` levels (0: no tail plan).

    stanzas is (s, 3) int64 and chunks (2, thread blocks + 1) int64: row 0 the
    stanzas of each thread block for a full pass, row 1 for the tail pass.
    computed is the number of row-levels a full pass computes, redundancy the
    ratio of that to n * levels (1: no row computed twice)."""

    stanzas: np.ndarray
    chunks: np.ndarray
    levels: int
    tail: int
    computed: int
    redundancy: float


def row_chunks(indptr: np.ndarray, parts: int) -> np.ndarray:
    """Boundaries (parts + 1, int64) of contiguous row ranges of about equal nonzeros and rows."""
    n = len(indptr) - 1
    if n == 0:
        return np.zeros(parts + 1, dtype=np.int64)
    # Weight a row by its nonzeros plus one, so that empty rows still spread.
    weight = indptr.astype(np.int64) + np.arange(n + 1, dtype=np.int64)
    targets = weight[-1] * np.arange(parts + 1, dtype=np.int64) // parts
    bounds = np.searchsorted(weight, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, n
    return np.maximum.accumulate(bounds)


def contiguous_blocks(indptr: np.ndarray, threads: int, rows_per_block: int) -> List[List[np.ndarray]]:
    """Thread blocks of contiguous rows (equal work), each cut into cache blocks of about rows_per_block rows."""
    out = []
    bounds = row_chunks(indptr, threads)
    for t in range(threads):
        lo, hi = int(bounds[t]), int(bounds[t + 1])
        pieces = max(1, -(-(hi - lo) // max(1, rows_per_block)))
        cuts = lo + (hi - lo) * np.arange(pieces + 1, dtype=np.int64) // pieces
        out.append([np.arange(cuts[i], cuts[i + 1], dtype=np.int64) for i in range(pieces) if cuts[i + 1] > cuts[i]])
    return out


def _metis():
    name = ctypes.util.find_library("metis")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.METIS_PartGraphKway.restype = ctypes.c_int
    return lib


_METIS = None
_METIS_LOADED = False


def metis_available() -> bool:
    """Whether libmetis (Debian's libmetis5, 32-bit indices) can be loaded."""
    global _METIS, _METIS_LOADED
    if not _METIS_LOADED:
        _METIS, _METIS_LOADED = _metis(), True
    return _METIS is not None


def _metis_parts(xadj: np.ndarray, adjncy: np.ndarray, parts: int) -> np.ndarray:
    """METIS_PartGraphKway of a symmetric graph without self-loops into `parts` parts (labels per vertex)."""
    n = len(xadj) - 1
    if parts <= 1 or n <= parts:
        return np.minimum(np.arange(n) * max(parts, 1) // max(n, 1), max(parts, 1) - 1).astype(np.int32)
    if not metis_available():
        raise RuntimeError("libmetis cannot be loaded: install Debian's libmetis5 (scripts/setup does)")
    int_p = ctypes.POINTER(ctypes.c_int32)
    xadj = np.ascontiguousarray(xadj, dtype=np.int32)
    adjncy = np.ascontiguousarray(adjncy, dtype=np.int32)
    part = np.zeros(n, dtype=np.int32)
    nvtxs, ncon, nparts, objval = (ctypes.c_int32(v) for v in (n, 1, parts, 0))
    status = _METIS.METIS_PartGraphKway(
        ctypes.byref(nvtxs), ctypes.byref(ncon), xadj.ctypes.data_as(int_p), adjncy.ctypes.data_as(int_p),
        None, None, None, ctypes.byref(nparts), None, None, None, ctypes.byref(objval), part.ctypes.data_as(int_p))
    if status != 1:  # METIS_OK
        raise RuntimeError(f"METIS_PartGraphKway failed with status {status}")
    return part


def metis_blocks(csr, threads: int, rows_per_block: int) -> List[List[np.ndarray]]:
    """Thread blocks and, within each, cache blocks of about rows_per_block rows, both cut by METIS
    (k-way partitions of the symmetrised pattern, minimising the edges cut: the ghost zones)."""
    import scipy.sparse as sparse

    pattern = sparse.csr_array((np.ones(csr.nnz, dtype=np.int8), csr.indices, csr.indptr), shape=csr.shape)
    graph = sparse.csr_array(pattern + pattern.T)
    graph.setdiag(0)
    graph.eliminate_zeros()
    labels = _metis_parts(graph.indptr, graph.indices, threads)
    out = []
    for t in range(threads):
        rows = np.flatnonzero(labels == t).astype(np.int64)
        pieces = max(1, -(-len(rows) // max(1, rows_per_block)))
        if pieces == 1 or len(rows) == 0:
            out.append([rows] if len(rows) else [])
            continue
        sub = graph[rows][:, rows]
        inner = _metis_parts(sub.indptr, sub.indices, pieces)
        order = np.argsort(inner, kind="stable")
        cuts = np.searchsorted(inner[order], np.arange(pieces + 1))
        out.append([np.sort(rows[order[cuts[i]:cuts[i + 1]]]) for i in range(pieces) if cuts[i + 1] > cuts[i]])
    return out


def _neighbours(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The column indices of the given rows' nonzeros, concatenated."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return indices[offsets + np.arange(total, dtype=np.int64)].astype(np.int64, copy=False)


def _stanzas(level: int, rows: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(level, first, end) for each run of consecutive rows among `rows` (distinct, all in [lo, hi))."""
    mask = np.zeros(hi - lo + 2, dtype=np.int8)
    mask[rows - lo + 1] = 1
    edges = np.diff(mask)
    first = np.flatnonzero(edges == 1) + lo
    last = np.flatnonzero(edges == -1) + lo
    return np.column_stack((np.full(len(first), level, dtype=np.int64), first, last))


def _thread_block(indptr, indices, n: int, levels: int, blocks: Sequence[np.ndarray], scratch: np.ndarray,
                  budget: float):
    """The stanzas of one thread block for a pass of `levels` levels, and the row-levels they compute.
    scratch (n, int64) holds -1 for every row outside the search, before and after; the searches may
    reach `budget` rows in all, else TooCostly."""
    done = np.zeros((levels + 1, n), dtype=bool)
    out = []
    computed = reached_total = 0
    for block in blocks:
        if len(block) == 0:
            continue
        reached, reach = [block], [np.zeros(len(block), dtype=np.int8)]
        scratch[block] = 0
        frontier = block
        for d in range(1, levels):
            near = _neighbours(indptr, indices, frontier)
            near = near[scratch[near] < 0]
            # Each new row once, without sorting: the last of its copies wins the stamp.
            order = np.arange(len(near), dtype=np.int64)
            scratch[near] = -2 - order
            near = near[scratch[near] == -2 - order]
            if len(near) == 0:
                break
            scratch[near] = d
            reached.append(near)
            reach.append(np.full(len(near), d, dtype=np.int8))
            frontier = near
        rows, dist = np.concatenate(reached), np.concatenate(reach)
        scratch[rows] = -1
        reached_total += len(rows)
        if reached_total > budget:
            raise TooCostly(f"the ghost zones' search reached more than {budget:.0f} rows")
        lo, hi = int(rows.min()), int(rows.max()) + 1
        for level in range(1, levels + 1):
            chosen = rows[dist <= levels - level] if level > 1 else rows
            chosen = chosen[~done[level, chosen]]
            if len(chosen) == 0:
                continue
            done[level, chosen] = True
            computed += len(chosen)
            out.append(_stanzas(level, chosen, lo, hi))
    return out, computed


def _pass(indptr, indices, n: int, levels: int, thread_blocks, max_search: float):
    scratch = np.full(n, -1, dtype=np.int64)
    stanzas, bounds, computed = [], [0], 0
    for blocks in thread_blocks:
        parts, rows = _thread_block(indptr, indices, n, levels, blocks, scratch, max_search * max(n, 1))
        stanzas.extend(parts)
        computed += rows
        bounds.append(bounds[-1] + sum(len(p) for p in parts))
    return stanzas, bounds, computed


def build(indptr: np.ndarray, indices: np.ndarray, levels: int, tail: int,
          thread_blocks: Sequence[Sequence[np.ndarray]], max_redundancy: float = 1.5, max_search: float = 8.0) -> Plan:
    """The plan of passes of `levels` levels (1..MAX_LEVELS) and of `tail` levels (0: none) over the given
    thread blocks (each a sequence of cache blocks: sorted int64 row arrays that together cover every row once).

    Raises TooCostly when a thread block's searches reach more than max_search * n rows, or a pass computes
    more than max_redundancy times the n * levels row-levels it needs (irregular matrices, whose ghost zones
    soon cover everything: there plain SpMV passes, levels = 1, are the plan)."""
    if not 1 <= levels <= MAX_LEVELS or not 0 <= tail < levels:
        raise ValueError(f"a pass has 1 to {MAX_LEVELS} levels (and a shorter tail), not {levels} ({tail})")
    n = len(indptr) - 1
    indptr = np.asarray(indptr, dtype=np.int64)
    full, bounds, computed = _pass(indptr, indices, n, levels, thread_blocks, max_search)
    if levels > 1 and computed > max_redundancy * n * levels:
        raise TooCostly(f"a pass would compute {computed / (n * levels):.1f} times the rows it needs")
    if tail:
        short, tail_bounds, _ = _pass(indptr, indices, n, tail, thread_blocks, max_search)
    else:
        short, tail_bounds = [], [0] * len(bounds)
    offset = bounds[-1]
    stanzas = np.concatenate(full + short) if full or short else np.zeros((0, 3), dtype=np.int64)
    chunks = np.array([bounds, [offset + b for b in tail_bounds]], dtype=np.int64)
    return Plan(np.ascontiguousarray(stanzas.reshape(-1, 3), dtype=np.int64), chunks, levels, tail, computed,
                computed / max(1, n * levels))


def device_blocks(indptr: np.ndarray, groups: int) -> List[List[np.ndarray]]:
    """A device plan's thread blocks: `groups` contiguous row ranges (a work-group each), no cache blocks."""
    bounds = row_chunks(indptr, groups)
    return [[np.arange(bounds[g], bounds[g + 1], dtype=np.int64)] for g in range(groups) if bounds[g + 1] > bounds[g]]
