// The MPI layer (DESIGN.md §10): what this process can do with MPI, and the
// communication operations a program's `comm` statements run (registered with
// register_comm() when the core is loaded). The core never initializes MPI:
// the application does, the usual way (importing mpi4py.MPI, or MPI_Init),
// and hands a communicator to a call as its Fortran handle (MPI_Comm_c2f,
// mpi4py's Comm.py2f()), an integer that crosses every language boundary.
//
// Operations, each taking the communicator's handle (an integer scalar) first:
//   allreduce_sum(comm, b...)    every buffer b summed over the ranks, in place
//   allreduce_max(comm, b...)    the elementwise maximum
//   allreduce_min(comm, b...)    the elementwise minimum
//   broadcast(comm, root, b...)  rank root's buffers on every rank
//   barrier(comm)
// A reduction is computed on rank 0 and broadcast, so every rank holds the
// same bits: a program whose loop exits on a reduced value (EM's likelihood
// change, CG's residual) takes the same branch on every rank and never
// deadlocks in a collective one rank skipped.
#pragma once

#include <asp/psir.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace asp::core {

struct MpiInfo {
  bool built = false;        // the core was built with an MPI library
  std::string library;       // MPI_Get_library_version's first line ("Open MPI v4.1.4, ...")
  int standard_major = 0;    // the MPI standard the library implements
  int standard_minor = 0;
  bool initialized = false;  // MPI_Init has run in this process (and MPI_Finalize has not)
  int rank = -1;             // in MPI_COMM_WORLD, once initialized; else from the launcher's environment, -1 unknown
  int ranks = 0;             // the size of MPI_COMM_WORLD, the same way; 0 unknown
  std::string reason;        // why communication cannot run now; empty when it can
};

MpiInfo mpi_info();

// ---- Halo exchange of a distributed stencil grid (DESIGN.md §10) ----
//
// `comm` is the Fortran handle of a Cartesian communicator (MPI_Cart_create,
// mpi4py's Create_cart) with as many dimensions as `shape`, non-periodic.
// `data` is this rank's C-contiguous block of `shape` elements of `type`:
// its owned points plus, on each side where the Cartesian grid has a
// neighbour, `ghost` layers of halo (on a side without one the block starts
// with owned points: the global border). Fills every halo layer with the
// neighbour's owned points next to it, axis after axis, each axis sending
// whole slabs including the halo the earlier axes just filled, so that edge
// and corner halo points (diagonal neighbours) arrive too. Nonblocking
// sends and receives per axis; every rank of `comm` must call it with the
// same `ghost`. Throws std::runtime_error (the same on every rank for a bad
// shape or ghost depth, which are checked before anything is sent).
// Also registered as the comm operation
//   halo_exchange(comm, ghost, n_0, ..., n_{d-1}, buffer)
void halo_exchange(std::int64_t comm, void* data, psir::Type type, const std::vector<std::int64_t>& shape,
                   std::int64_t ghost);

}  // namespace asp::core
