#include "asp/core/mpi.hpp"

#include "asp/core/program.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef ASP_HAVE_MPI
// The C API only: Open MPI's and MPICH's mpi.h add the removed C++ bindings for C++ unless told not to.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace asp::core {

namespace {

// The launcher's word on this process's rank and size, before MPI_Init
// (Open MPI's mpirun, then MPICH's and Slurm's).
void launcher_rank(MpiInfo& info) {
  const char* rank_names[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"};
  const char* size_names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"};
  for (std::size_t i = 0; i < 3; ++i) {
    const char* rank = std::getenv(rank_names[i]);
    const char* size = std::getenv(size_names[i]);
    if (rank && size) {
      info.rank = std::atoi(rank);
      info.ranks = std::atoi(size);
      return;
    }
  }
}

#ifdef ASP_HAVE_MPI

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

MPI_Comm communicator(const std::string& operation, const std::vector<CommArgument>& args) {
  const MpiInfo info = mpi_info();
  if (!info.reason.empty()) throw std::runtime_error("comm " + operation + ": " + info.reason);
  if (args.empty() || args[0].buffer ||
      (args[0].type != psir::Type::i64 && args[0].type != psir::Type::u64)) {
    throw std::runtime_error("comm " + operation + ": the first argument must be the communicator's handle, an integer scalar");
  }
  const auto handle = *static_cast<const std::int64_t*>(args[0].data);
  MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(handle));
  if (comm == MPI_COMM_NULL) throw std::runtime_error("comm " + operation + ": the communicator is MPI_COMM_NULL");
  return comm;
}

MPI_Datatype datatype(const std::string& operation, psir::Type t) {
  switch (t) {
    case psir::Type::f64: return MPI_DOUBLE;
    case psir::Type::f32: return MPI_FLOAT;
    case psir::Type::i64: return MPI_INT64_T;
    case psir::Type::u64: return MPI_UINT64_T;
    case psir::Type::i32: return MPI_INT32_T;
    case psir::Type::u32: return MPI_UINT32_T;
    case psir::Type::i16: return MPI_INT16_T;
    case psir::Type::u16: return MPI_UINT16_T;
    case psir::Type::i8: return MPI_INT8_T;
    case psir::Type::u8: return MPI_UINT8_T;
    case psir::Type::boolean: return MPI_C_BOOL;
  }
  throw std::runtime_error("comm " + operation + ": a buffer of an unknown type");
}

// The buffers of a collective: every argument after the first `skip`.
void each_buffer(const std::string& operation, const std::vector<CommArgument>& args, std::size_t skip,
                 const auto& apply) {
  for (std::size_t i = skip; i < args.size(); ++i) {
    if (!args[i].buffer) {
      throw std::runtime_error("comm " + operation + ": argument " + std::to_string(i + 1) +
                               " is a scalar; a collective changes buffers only");
    }
    const std::size_t size = psir::size_of(args[i].type);
    if (args[i].bytes % size != 0 || args[i].bytes / size > static_cast<std::size_t>(INT32_MAX)) {
      throw std::runtime_error("comm " + operation + ": a buffer of " + std::to_string(args[i].bytes) +
                               " bytes is more than one collective can move");
    }
    apply(args[i].data, static_cast<int>(args[i].bytes / size), datatype(operation, args[i].type));
  }
}

CommOperation reduction(const std::string& name, MPI_Op op) {
  return [name, op](const std::vector<CommArgument>& args) {
    MPI_Comm comm = communicator(name, args);
    int rank = 0;
    check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
    each_buffer(name, args, 1, [&](void* data, int count, MPI_Datatype type) {
      // On rank 0 and broadcast, rather than MPI_Allreduce, whose ranks may
      // round differently: every rank must see the same bits.
      check(MPI_Reduce(rank == 0 ? MPI_IN_PLACE : data, rank == 0 ? data : nullptr, count, type, op, 0, comm),
            "MPI_Reduce");
      check(MPI_Bcast(data, count, type, 0, comm), "MPI_Bcast");
    });
  };
}

void register_operations() {
  register_comm("allreduce_sum", reduction("allreduce_sum", MPI_SUM));
  register_comm("allreduce_max", reduction("allreduce_max", MPI_MAX));
  register_comm("allreduce_min", reduction("allreduce_min", MPI_MIN));
  register_comm("broadcast", [](const std::vector<CommArgument>& args) {
    MPI_Comm comm = communicator("broadcast", args);
    if (args.size() < 2 || args[1].buffer) throw std::runtime_error("comm broadcast: the second argument must be the root rank");
    const int root = static_cast<int>(*static_cast<const std::int64_t*>(args[1].data));
    int ranks = 0;
    check(MPI_Comm_size(comm, &ranks), "MPI_Comm_size");
    if (root < 0 || root >= ranks) {
      throw std::runtime_error("comm broadcast: root " + std::to_string(root) + " is not a rank of a communicator of " +
                               std::to_string(ranks));
    }
    each_buffer("broadcast", args, 2, [&](void* data, int count, MPI_Datatype type) {
      check(MPI_Bcast(data, count, type, root, comm), "MPI_Bcast");
    });
  });
  register_comm("barrier", [](const std::vector<CommArgument>& args) {
    check(MPI_Barrier(communicator("barrier", args)), "MPI_Barrier");
  });
}

#else

void register_operations() {
  for (const char* name : {"allreduce_sum", "allreduce_max", "allreduce_min", "broadcast", "barrier"}) {
    register_comm(name, [name](const std::vector<CommArgument>&) {
      throw std::runtime_error(std::string("comm ") + name + ": " + mpi_info().reason);
    });
  }
}

#endif

const bool registered = (register_operations(), true);

}  // namespace

MpiInfo mpi_info() {
  MpiInfo info;
#ifdef ASP_HAVE_MPI
  info.built = true;
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);  // one of the few calls allowed before MPI_Init
  info.library = std::string(version, strnlen(version, static_cast<std::size_t>(length)));
  info.library = info.library.substr(0, info.library.find_first_of("\r\n"));
  while (!info.library.empty() && (info.library.back() == ',' || info.library.back() == ' ')) info.library.pop_back();
  MPI_Get_version(&info.standard_major, &info.standard_minor);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  info.initialized = initialized && !finalized;
  if (info.initialized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &info.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &info.ranks);
  } else {
    launcher_rank(info);
    info.reason = finalized ? "MPI has been finalized in this process"
                            : "MPI is not initialized in this process: import mpi4py.MPI (which initializes it) "
                              "before a call that communicates";
  }
#else
  launcher_rank(info);
  info.reason = "this Asp was built without MPI (install libopenmpi-dev and rebuild; scripts/setup does)";
#endif
  (void)registered;
  return info;
}

}  // namespace asp::core

// ==== Halo exchange of distributed stencil grids (asp.stencil.StencilGrid(comm=...)) ====
// Kept apart from the collectives above: it uses only their check(),
// datatype() and psir::size_of() helpers.

namespace asp::core {

namespace {

std::runtime_error halo_error(const std::string& what) { return std::runtime_error("halo_exchange: " + what); }

#ifdef ASP_HAVE_MPI

int as_int(std::int64_t v, const std::string& what) {
  if (v < 0 || v > INT32_MAX) throw halo_error(what + " " + std::to_string(v) + " is out of MPI's range");
  return static_cast<int>(v);
}

// One axis's slab: every index along the other axes (their halo too, which is how
// edges and corners travel), `depth` layers along `axis` from `start`.
MPI_Datatype slab(const std::vector<int>& sizes, std::size_t axis, int start, int depth, MPI_Datatype element) {
  std::vector<int> subsizes = sizes, starts(sizes.size(), 0);
  subsizes[axis] = depth;
  starts[axis] = start;
  MPI_Datatype t = MPI_DATATYPE_NULL;
  check(MPI_Type_create_subarray(static_cast<int>(sizes.size()), sizes.data(), subsizes.data(), starts.data(),
                                 MPI_ORDER_C, element, &t),
        "MPI_Type_create_subarray");
  check(MPI_Type_commit(&t), "MPI_Type_commit");
  return t;
}

#endif

}  // namespace

void halo_exchange(std::int64_t handle, void* data, psir::Type type, const std::vector<std::int64_t>& shape,
                   std::int64_t ghost) {
#ifdef ASP_HAVE_MPI
  const MpiInfo info = mpi_info();
  if (!info.reason.empty()) throw halo_error(info.reason);
  MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(handle));
  if (comm == MPI_COMM_NULL) throw halo_error("the communicator is MPI_COMM_NULL");
  int topology = MPI_UNDEFINED;
  check(MPI_Topo_test(comm, &topology), "MPI_Topo_test");
  if (topology != MPI_CART) throw halo_error("the communicator is not Cartesian (MPI_Cart_create makes one)");
  int dims = 0;
  check(MPI_Cartdim_get(comm, &dims), "MPI_Cartdim_get");
  if (static_cast<std::size_t>(dims) != shape.size()) {
    throw halo_error("a block of " + std::to_string(shape.size()) + " axes on a Cartesian communicator of " +
                     std::to_string(dims));
  }
  if (ghost < 0) throw halo_error("the ghost depth " + std::to_string(ghost) + " is negative");
  const int depth = as_int(ghost, "the ghost depth");
  std::vector<int> sizes, lower(shape.size()), upper(shape.size());
  for (std::size_t k = 0; k < shape.size(); ++k) {
    sizes.push_back(as_int(shape[k], "the extent"));
    check(MPI_Cart_shift(comm, static_cast<int>(k), 1, &lower[k], &upper[k]), "MPI_Cart_shift");
    // The layers sent must be owned points: the block owns at least `depth` along an axis it shares.
    const int owned = sizes[k] - (lower[k] != MPI_PROC_NULL ? depth : 0) - (upper[k] != MPI_PROC_NULL ? depth : 0);
    const bool shared = lower[k] != MPI_PROC_NULL || upper[k] != MPI_PROC_NULL;
    if (owned < 0 || (shared && owned < depth)) {
      throw halo_error("the block owns " + std::to_string(owned) + " points along axis " + std::to_string(k) +
                       ", fewer than the ghost depth " + std::to_string(depth) + " its neighbours need");
    }
  }
  if (depth == 0) return;
  const MPI_Datatype element = datatype("halo_exchange", type);
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const int low = lower[k] != MPI_PROC_NULL ? depth : 0;               // the first owned index
    const int high = sizes[k] - (upper[k] != MPI_PROC_NULL ? depth : 0);  // one past the last
    // Tag 2k: a slab going down axis k; 2k + 1: going up.
    const int down = static_cast<int>(2 * k), up = down + 1;
    std::vector<MPI_Datatype> types;
    std::vector<MPI_Request> requests;
    auto post = [&](bool send, int start, int peer, int tag) {
      types.push_back(slab(sizes, k, start, depth, element));
      requests.emplace_back();
      if (send) check(MPI_Isend(data, 1, types.back(), peer, tag, comm, &requests.back()), "MPI_Isend");
      else check(MPI_Irecv(data, 1, types.back(), peer, tag, comm, &requests.back()), "MPI_Irecv");
    };
    if (lower[k] != MPI_PROC_NULL) {
      post(false, 0, lower[k], up);
      post(true, low, lower[k], down);
    }
    if (upper[k] != MPI_PROC_NULL) {
      post(false, high, upper[k], down);
      post(true, high - depth, upper[k], up);
    }
    const int waited = MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    for (MPI_Datatype& t : types) MPI_Type_free(&t);
    check(waited, "MPI_Waitall");
  }
#else
  (void)handle, (void)data, (void)type, (void)shape, (void)ghost;
  throw halo_error(mpi_info().reason);
#endif
}

namespace {

// The comm operation: halo_exchange(comm, ghost, n_0, ..., n_{d-1}, buffer).
void halo_operation(const std::vector<CommArgument>& args) {
  auto scalar = [&](std::size_t i, const char* what) {
    if (args[i].buffer || (args[i].type != psir::Type::i64 && args[i].type != psir::Type::u64)) {
      throw halo_error(std::string("argument ") + std::to_string(i + 1) + " (" + what + ") must be an integer scalar");
    }
    return *static_cast<const std::int64_t*>(args[i].data);
  };
  if (args.size() < 4 || !args.back().buffer) {
    throw halo_error("takes (comm, ghost, n_0, ..., n_{d-1}, buffer): the communicator, the ghost depth, the "
                     "block's extents and the block");
  }
  std::vector<std::int64_t> shape;
  std::int64_t elements = 1;
  for (std::size_t i = 2; i + 1 < args.size(); ++i) {
    shape.push_back(scalar(i, "an extent"));
    elements *= shape.back();
  }
  const CommArgument& block = args.back();
#ifdef ASP_HAVE_MPI
  if (block.bytes != static_cast<std::size_t>(elements) * psir::size_of(block.type)) {
    throw halo_error("a buffer of " + std::to_string(block.bytes) + " bytes is not a block of the extents given");
  }
#else
  (void)elements;
#endif
  halo_exchange(scalar(0, "the communicator"), block.data, block.type, shape, scalar(1, "the ghost depth"));
}

[[maybe_unused]] const bool halo_registered = (register_comm("halo_exchange", halo_operation), true);

}  // namespace

}  // namespace asp::core
