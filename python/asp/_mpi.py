"""The Python side of a call that communicates (DESIGN.md §10).

A specializer that takes ``comm=`` (an mpi4py communicator) calls
:func:`handle` to turn it into the integer the core's communication
operations take (its Fortran handle, ``Comm.py2f()``), and wraps whatever may
fail on one rank only (checking that rank's shard of the input) in
:func:`collective`, so that a rank that raises makes every rank raise
instead of leaving the others waiting in the next collective.

The core never initializes MPI: importing ``mpi4py.MPI`` does, the usual
way; the core and mpi4py then share the one MPI library of the process.
"""

from __future__ import annotations

import builtins
import contextlib
from typing import Any, Iterator, Optional

import numpy as np

from asp import _core


def info() -> dict:
    """What the core's MPI layer can do now: see ``_core.mpi_info``."""
    return _core.mpi_info()


def handle(comm: Any) -> int:
    """The Fortran handle of the intracommunicator ``comm`` for the core's operations.

    Raises
    ------
    TypeError
        ``comm`` is not an mpi4py communicator.
    ValueError
        ``comm`` is ``MPI.COMM_NULL`` or an intercommunicator.
    RuntimeError
        The core has no MPI layer, or MPI is not initialized.
    """
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("comm= needs mpi4py: pip install 'asp[mpi]' (or mpi4py)") from e
    if not isinstance(comm, MPI.Comm):
        raise TypeError(f"comm must be an mpi4py communicator such as MPI.COMM_WORLD, not {type(comm).__name__}")
    if comm == MPI.COMM_NULL:
        raise ValueError("comm is MPI.COMM_NULL: pass a communicator this rank belongs to")
    if comm.Is_inter():
        raise ValueError("comm is an intercommunicator: pass an intracommunicator (e.g. MPI.COMM_WORLD)")
    state = info()
    if state["reason"]:
        raise RuntimeError(f"comm= cannot run: {state['reason']}")
    return comm.py2f()


def total(comm: Any, values: Any) -> np.ndarray:
    """The float64 sum of ``values`` over the ranks of ``comm``: on rank 0, then broadcast, so every rank
    holds the same bits (a solver that branches on it branches alike everywhere; MPI_Allreduce does not
    promise that). Collective."""
    from mpi4py import MPI

    buffer = np.array(values, dtype=np.float64)
    if comm.rank == 0:
        comm.Reduce(MPI.IN_PLACE, buffer, op=MPI.SUM, root=0)
    else:
        comm.Reduce(buffer, None, op=MPI.SUM, root=0)
    comm.Bcast(buffer, root=0)
    return buffer


class RankError(RuntimeError):
    """Another rank raised an exception that cannot be rebuilt here; the message names the rank."""


def _rebuild(rank: int, kind: str, message: str) -> BaseException:
    # Builtin exceptions and Asp's own come back as the same type, so that
    # `except ValueError` works on every rank; anything else as RankError.
    import asp._errors as errors

    cls = getattr(builtins, kind, None) or getattr(errors, kind, None)
    text = f"rank {rank}: {message}"
    if isinstance(cls, type) and issubclass(cls, Exception):
        with contextlib.suppress(Exception):
            return cls(text)
    return RankError(f"rank {rank} raised {kind}: {message}")


@contextlib.contextmanager
def collective(comm: Optional[Any]) -> Iterator[None]:
    """Run the block on every rank of ``comm``; if it raises on any rank, raise on all.

    The rank that raised re-raises its own exception; the others raise one of
    the same type naming the first rank that failed. Every rank must enter the
    block (it ends in a collective). With ``comm=None`` the block runs as is.
    """
    if comm is None:
        yield
        return
    error: Optional[BaseException] = None
    try:
        yield
    except Exception as e:  # handed to every rank below, then raised again here
        error = e
    failures = comm.allgather(None if error is None else (type(error).__name__, str(error)))
    if error is not None:
        raise error
    for rank, failure in enumerate(failures):
        if failure is not None:
            raise _rebuild(rank, *failure)
