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

#include <string>

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

}  // namespace asp::core
