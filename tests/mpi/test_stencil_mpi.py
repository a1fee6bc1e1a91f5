"""Distributed stencil grids, run on every rank by scripts/test under mpirun -n 2 and -n 4.

Every result is compared bitwise with one process running the same kernel
on the global array: each rank computes that reference itself, with plain
StencilGrids, and root compares it with gather().
"""

import numpy as np
import pytest
from mpi4py import MPI

import asp
from asp.stencil import StencilGrid, StencilKernel

comm = MPI.COMM_WORLD


class Laplacian(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = -4 * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Smooth(StencilKernel):
    """Interior from the diagonal (Moore) neighbours, border copied: both loops, corners of the halo read."""

    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = 0.5 * in_grid[x]
            for y in in_grid.neighbors(x, 2):
                out_grid[x] = out_grid[x] + 0.0625 * in_grid[y]
        for x in out_grid.border_points():
            out_grid[x] = in_grid[x] * 3 - 1


class Scale(StencilKernel):
    def kernel(self, grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = grid[x] * 2


class Far(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 3):
                out_grid[x] = out_grid[x] + in_grid[y]


class InPlace(StencilKernel):
    def kernel(self, grid, out_grid):
        for x in grid.interior_points():
            for y in grid.neighbors(x, 1):
                grid[x] = grid[x] + grid[y]


def values(shape, dtype, seed=1):
    rng = np.random.default_rng(seed)  # the same on every rank
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-1000, 1000, shape).astype(dtype)


def pair(array, ghost=1):
    """A distributed grid of `array`, another of zeros, and their one-process references."""
    a = StencilGrid.from_array(array, comm=comm, ghost_depth=ghost)
    b = StencilGrid(array.shape, dtype=array.dtype, comm=comm, ghost_depth=ghost)
    ra = StencilGrid.from_array(array.copy(), ghost_depth=ghost)
    rb = StencilGrid(array.shape, dtype=array.dtype, ghost_depth=ghost)
    return a, b, ra, rb


def agree(grid, reference):
    whole = grid.gather(root=0)
    ok = comm.bcast(bool(whole is not None and whole.tobytes() == reference.data.tobytes()) if comm.rank == 0 else None)
    if comm.rank != 0:
        assert whole is None
    assert ok, "the distributed result differs from one process's"


def moore(grid):
    grid.set_neighborhood(2, grid.moore_neighborhood())


@pytest.mark.parametrize("shape, dtype", [
    ((29, 31), np.float64), ((40, 9), np.float32), ((13, 11, 17), np.float64), ((12, 10, 9), np.int64),
    ((64,), np.int32),
])
def test_a_laplacian_equals_one_process_bitwise(shape, dtype):
    a, b, ra, rb = pair(values(shape, dtype))
    Laplacian().kernel(a, b)
    Laplacian().kernel(ra, rb)
    agree(b, rb)
    agree(a, ra)  # the input is not changed


@pytest.mark.parametrize("shape", [(21, 18), (9, 10, 11)])
def test_interior_and_border_points_keep_their_global_meaning(shape):
    a, b, ra, rb = pair(values(shape, np.float64, seed=2))
    for g in (a, b, ra, rb):
        moore(g)
    Smooth().kernel(a, b)
    Smooth().kernel(ra, rb)
    agree(b, rb)
    # The Python iterators too: a rank's border points are global border points it owns.
    mine = {tuple(s.start + i - lo for s, i, lo in zip(a.decomposition.owned, p, a.decomposition.halo_low))
            for p in a.border_points()}
    every = set().union(*comm.allgather(mine))
    assert every == set(ra.border_points())
    assert sum(comm.allgather(len(mine))) == len(every)
    inner = sum(comm.allgather(len(list(a.interior_points()))))
    assert inner == len(list(ra.interior_points()))


def test_several_calls_in_a_row_exchange_the_halos_that_changed():
    a, b, ra, rb = pair(values((26, 23, 7), np.float64, seed=3))
    lap = Laplacian()
    for _ in range(3):  # ping-pong: each call reads what the last one wrote
        lap.kernel(a, b)
        lap.kernel(b, a)
        lap.kernel(ra, rb)
        lap.kernel(rb, ra)
    agree(a, ra)
    agree(b, rb)
    # Python writes into the block between calls: its halo is refreshed before the next read.
    a.data[...] = 1.0 + comm.rank
    whole = comm.bcast(a.gather(root=0))
    ra.data[...] = whole
    lap.kernel(a, b)
    lap.kernel(ra, rb)
    agree(b, rb)


def test_a_deeper_halo_serves_reads_two_points_away():
    a, b, ra, rb = pair(values((30, 24), np.float64, seed=4), ghost=2)
    offsets = [(2, 0), (-2, 0), (0, 2), (0, -2), (1, 1)]
    for g in (a, ra):
        g.set_neighborhood(3, offsets)
    Far().kernel(a, b)
    Far().kernel(ra, rb)
    agree(b, rb)


def test_reads_beyond_the_ghost_depth_are_refused_on_every_rank():
    a, b, _, _ = pair(values((20, 20), np.float64))
    a.set_neighborhood(3, [(2, 0)])
    with pytest.raises(ValueError, match="beyond the ghost depth 1"):
        Far().kernel(a, b)


class TwoSteps(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                for z in in_grid.neighbors(y, 1):
                    out_grid[x] = out_grid[x] + in_grid[z]


def test_neighbours_of_neighbours_count_both_offsets():
    a, b, ra, rb = pair(values((22, 20), np.float64, seed=6), ghost=2)
    TwoSteps().kernel(a, b)
    TwoSteps().kernel(ra, rb)
    agree(b, rb)
    a, b, _, _ = pair(values((22, 20), np.float64, seed=6))
    with pytest.raises(ValueError, match=r"offset \(-2, 0\), beyond the ghost depth 1"):
        TwoSteps().kernel(a, b)


def test_grids_of_different_decompositions_are_refused_on_every_rank():
    a = StencilGrid((20, 30), comm=comm)
    b = StencilGrid((30, 20), comm=comm)
    with pytest.raises(ValueError, match="share one decomposition"):
        Scale().kernel(a, b)
    with pytest.raises(ValueError, match="share one decomposition"):
        Scale().kernel(a, StencilGrid((20, 30)))
    deep = StencilGrid((20, 30), comm=comm, ghost_depth=2)
    with pytest.raises(ValueError, match="share one decomposition"):
        Scale().kernel(a, deep)


def test_a_bad_input_on_one_rank_makes_every_rank_raise():
    last = comm.size - 1
    shape = (16, 17) if comm.rank != last else (16, 18)
    with pytest.raises(ValueError, match="different"):
        StencilGrid.from_array(np.zeros(shape), comm=comm)
    a, b, _, _ = pair(values((16, 17), np.float64))
    if comm.rank == last:
        a.ghost_depth = 2  # this rank alone
    with pytest.raises(ValueError, match="ghost_depth 2" if comm.rank == last else f"rank {last}: grid 'grid'"):
        Scale().kernel(a, b)


def test_what_a_block_cannot_run_as_the_global_grid_is_refused():
    a, b, _, _ = pair(values((20, 20), np.float64))
    with pytest.raises(ValueError, match="reads them at neighbour points|reads it at neighbour points"):
        InPlace().kernel(a, b)


def test_gather_elsewhere_and_the_block_with_its_halo():
    array = values((18, 19), np.float64, seed=5)
    a = StencilGrid.from_array(array, comm=comm)
    d = a.decomposition
    assert a.shape == d.local_shape and a.global_shape == array.shape
    assert np.array_equal(a.data, array[d.local_slices])  # the block holds its halo's values from the start
    root = comm.size - 1
    whole = a.gather(root=root)
    assert (whole is None) == (comm.rank != root)
    if whole is not None:
        assert np.array_equal(whole, array)
    assert np.prod(d.dims) == comm.size


def test_the_native_code_ran():
    a, b, _, _ = pair(values((24, 24), np.float64))
    lap = Laplacian()
    lap.kernel(a, b)
    assert lap.last_call.backend is not None, lap.last_call.fallback_reason


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.uint64])
def test_the_core_exchange_fills_the_halo_with_its_edges_and_corners(dtype):
    from asp import _core

    shape = (9, 8, 7)  # on 4 ranks split (2, 2, 1): corner halo points come from the diagonal rank
    array = (np.arange(np.prod(shape)) % 120).reshape(shape).astype(dtype)
    a = StencilGrid.from_array(array, comm=comm)
    d = a.decomposition
    assert comm.size != 4 or d.dims == (2, 2, 1)
    block = np.full(d.local_shape, 7, dtype=dtype)
    block[d.owned_in_block] = array[d.owned]
    _core.halo_exchange(d.handle, block, d.ghost)
    assert np.array_equal(block, array[d.local_slices])


def test_the_core_exchange_wants_a_cartesian_communicator():
    from asp import _core

    with pytest.raises(RuntimeError, match="not Cartesian"):
        _core.halo_exchange(comm.py2f(), np.zeros(4), 1)


def test_the_python_kernel_on_blocks_equals_one_process_too():
    a, b, ra, rb = pair(values((15, 14), np.float64, seed=7))
    for g in (a, ra):
        moore(g)
    Smooth(pure_python=True).kernel(a, b)
    Smooth().kernel(ra, rb)
    agree(b, rb)


def test_a_sub_communicator_splits_its_own_grids():
    array = values((17, 16, 5), np.float64, seed=8)
    reference_in, reference_out = StencilGrid.from_array(array.copy()), StencilGrid(array.shape)
    Laplacian().kernel(reference_in, reference_out)
    for _ in range(2):  # a second sub-communicator, made after the first is freed, gets fresh decompositions
        sub = comm.Split(comm.rank % 2, comm.rank)
        try:
            a = StencilGrid.from_array(array, comm=sub)
            b = StencilGrid(array.shape, comm=sub)
            assert np.prod(a.decomposition.dims) == sub.size
            Laplacian().kernel(a, b)
            whole = b.gather(root=0)
            if sub.rank == 0:
                assert whole.tobytes() == reference_out.data.tobytes()
        finally:
            sub.Free()
