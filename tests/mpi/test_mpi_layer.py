"""The MPI layer as a specializer sees it, run on every rank by scripts/test under mpirun."""

import pytest
from mpi4py import MPI

from asp import _mpi
from asp._errors import ConfigError

comm = MPI.COMM_WORLD


def test_the_core_sees_the_world_mpi4py_initialized():
    state = _mpi.info()
    assert state["built"] and state["initialized"] and state["reason"] == ""
    assert (state["rank"], state["ranks"]) == (comm.rank, comm.size)
    assert state["library"].split(",")[0] in MPI.Get_library_version()


def test_a_communicator_is_handed_over_as_its_fortran_handle():
    assert _mpi.handle(comm) == comm.py2f()
    sub = comm.Split(comm.rank % 2, comm.rank)
    try:
        assert _mpi.handle(sub) == sub.py2f()
    finally:
        sub.Free()


@pytest.mark.parametrize("bad, error, words", [
    (object(), TypeError, "mpi4py communicator"),
    (MPI.COMM_NULL, ValueError, "COMM_NULL"),
])
def test_what_is_not_a_communicator_is_refused(bad, error, words):
    with pytest.raises(error, match=words):
        _mpi.handle(bad)


def test_a_rank_that_raises_makes_every_rank_raise_the_same_type():
    last = comm.size - 1
    with pytest.raises(ValueError, match="bad shard" if comm.rank == last else f"rank {last}: bad shard"):
        with _mpi.collective(comm):
            if comm.rank == last:
                raise ValueError("bad shard")
    with pytest.raises(ConfigError, match="no such setting" if comm.rank == 0 else "rank 0: no such setting"):
        with _mpi.collective(comm):
            if comm.rank == 0:
                raise ConfigError("no such setting")


def test_an_exception_that_cannot_be_rebuilt_is_a_rank_error_elsewhere():
    class Private(Exception):
        pass

    expected = Private if comm.rank == 0 else _mpi.RankError
    with pytest.raises(expected, match="odd"):
        with _mpi.collective(comm):
            if comm.rank == 0:
                raise Private("odd")


def test_a_block_that_succeeds_everywhere_and_no_communicator_run_as_is():
    with _mpi.collective(comm):
        value = comm.rank
    assert value == comm.rank
    with pytest.raises(KeyError):
        with _mpi.collective(None):
            raise KeyError("local")
