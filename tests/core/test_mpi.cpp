// The MPI layer's collectives, run by ctest under `mpirun -n 2` (test
// mpi_collectives): every rank must end with the same bits, on
// MPI_COMM_WORLD and on a sub-communicator handed over as a Fortran handle,
// as mpi4py's Comm.py2f() gives it; bad arguments are errors on every rank.
#include "asp/core/mpi.hpp"
#include "asp/core/program.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
// The C API only: Open MPI's and MPICH's mpi.h add the removed C++ bindings for C++ unless told not to.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstring>

namespace {

using namespace asp::core;
using asp::psir::Type;
using testing::HasSubstr;

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int size_of(MPI_Comm comm) {
  int s = 0;
  MPI_Comm_size(comm, &s);
  return s;
}

CommArgument scalar(std::int64_t& v) { return {&v, sizeof v, Type::i64, false}; }
template <class T>
CommArgument buffer(std::vector<T>& v, Type t) {
  return {v.data(), v.size() * sizeof(T), t, true};
}

TEST(MpiCollectives, TheLayerSeesTheInitializedWorld) {
  const MpiInfo info = mpi_info();
  EXPECT_TRUE(info.built);
  EXPECT_TRUE(info.initialized);
  EXPECT_EQ(info.reason, "");
  EXPECT_EQ(info.rank, rank_of(MPI_COMM_WORLD));
  EXPECT_EQ(info.ranks, size_of(MPI_COMM_WORLD));
}

TEST(MpiCollectives, ReductionsGiveEveryRankTheSameResult) {
  std::int64_t world = MPI_Comm_c2f(MPI_COMM_WORLD);
  const int r = rank_of(MPI_COMM_WORLD), n = size_of(MPI_COMM_WORLD);
  // 0.1 sums round differently in different orders: the bits must still agree across ranks.
  std::vector<double> sum{0.1 * (r + 1), 1e16, -1e16 + r};
  std::vector<std::int64_t> count{r, 1};
  comm_operation("allreduce_sum")({scalar(world), buffer(sum, Type::f64), buffer(count, Type::i64)});
  EXPECT_EQ(count, (std::vector<std::int64_t>{n * (n - 1) / 2, n}));
  std::vector<double> mine = sum, root = sum;
  MPI_Bcast(root.data(), 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  EXPECT_EQ(std::memcmp(mine.data(), root.data(), sizeof(double) * 3), 0) << "rank " << r << " differs from rank 0";
  double expected = 0;
  for (int i = 0; i < n; ++i) expected += 0.1 * (i + 1);
  EXPECT_NEAR(sum[0], expected, 1e-15);

  std::vector<float> high{static_cast<float>(r), -static_cast<float>(r)};
  comm_operation("allreduce_max")({scalar(world), buffer(high, Type::f32)});
  EXPECT_EQ(high, (std::vector<float>{static_cast<float>(n - 1), 0.0f}));
  std::vector<std::int32_t> low{r + 5};
  comm_operation("allreduce_min")({scalar(world), buffer(low, Type::i32)});
  EXPECT_EQ(low, std::vector<std::int32_t>{5});
}

TEST(MpiCollectives, BroadcastAndASubCommunicator) {
  const int r = rank_of(MPI_COMM_WORLD), n = size_of(MPI_COMM_WORLD);
  std::int64_t world = MPI_Comm_c2f(MPI_COMM_WORLD);
  std::int64_t root = n - 1;
  std::vector<double> v{static_cast<double>(r), 2.5};
  comm_operation("broadcast")({scalar(world), scalar(root), buffer(v, Type::f64)});
  EXPECT_EQ(v, (std::vector<double>{static_cast<double>(n - 1), 2.5}));

  MPI_Comm parity;
  MPI_Comm_split(MPI_COMM_WORLD, r % 2, r, &parity);
  std::int64_t handle = MPI_Comm_c2f(parity);
  std::vector<std::int64_t> ranks{r};
  comm_operation("allreduce_sum")({scalar(handle), buffer(ranks, Type::i64)});
  std::int64_t expected = 0;
  for (int i = r % 2; i < n; i += 2) expected += i;
  EXPECT_EQ(ranks[0], expected);
  comm_operation("barrier")({scalar(handle)});
  MPI_Comm_free(&parity);
}

TEST(MpiCollectives, BadArgumentsAreErrorsOnEveryRank) {
  std::int64_t world = MPI_Comm_c2f(MPI_COMM_WORLD);
  std::int64_t number = 3;
  std::vector<double> v{1.0};
  EXPECT_THAT([&] { comm_operation("allreduce_sum")({scalar(world), scalar(number)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("argument 2 is a scalar")));
  EXPECT_THAT([&] { comm_operation("allreduce_sum")({buffer(v, Type::f64)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("the communicator's handle")));
  std::int64_t null = MPI_Comm_c2f(MPI_COMM_NULL);
  EXPECT_THAT([&] { comm_operation("barrier")({scalar(null)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("MPI_COMM_NULL")));
  std::int64_t root = size_of(MPI_COMM_WORLD);
  EXPECT_THAT([&] { comm_operation("broadcast")({scalar(world), scalar(root), buffer(v, Type::f64)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("is not a rank")));
  EXPECT_EQ(v, std::vector<double>{1.0});
}

// ---- halo_exchange (distributed stencil grids) ----

// The block of this rank of a (rows x cols) grid split over the ranks along
// axis 1 (a non-periodic Cartesian communicator of dims (1, ranks)), ghost 1:
// every point holds its global index; halo points hold -1 until exchanged.
struct Block {
  std::int64_t rows, cols, first;  // the block's extents with halo, and its first column's global index
  std::vector<std::int32_t> values;
};

Block block_of(MPI_Comm cart, std::int64_t rows, std::int64_t global_cols, bool with_halo) {
  int coords[2] = {0, 0};
  MPI_Cart_coords(cart, rank_of(cart), 2, coords);
  const int ranks = size_of(cart);
  const std::int64_t per = global_cols / ranks, start = coords[1] * per,
                     stop = coords[1] == ranks - 1 ? global_cols : start + per;
  const std::int64_t lo = coords[1] > 0 ? 1 : 0, hi = coords[1] < ranks - 1 ? 1 : 0;
  Block b{rows, stop - start + lo + hi, start - lo, {}};
  for (std::int64_t i = 0; i < b.rows; ++i) {
    for (std::int64_t j = 0; j < b.cols; ++j) {
      const bool halo = (j < lo) || (j >= b.cols - hi);
      b.values.push_back(halo && !with_halo ? -1 : static_cast<std::int32_t>(i * global_cols + b.first + j));
    }
  }
  return b;
}

TEST(MpiHaloExchange, TheCommOperationFillsTheHaloFromTheNeighbours) {
  int dims[2] = {1, size_of(MPI_COMM_WORLD)}, periods[2] = {0, 0};
  MPI_Comm cart = MPI_COMM_NULL;
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
  std::int64_t handle = MPI_Comm_c2f(cart), ghost = 1;
  Block b = block_of(cart, 5, 7 * dims[1], false);
  std::int64_t rows = b.rows, cols = b.cols;
  comm_operation("halo_exchange")({scalar(handle), scalar(ghost), scalar(rows), scalar(cols), buffer(b.values, Type::i32)});
  EXPECT_EQ(b.values, block_of(cart, 5, 7 * dims[1], true).values);
  // The core's function, on doubles: the same exchange.
  std::vector<double> twice;
  for (std::int32_t v : block_of(cart, 5, 7 * dims[1], false).values) twice.push_back(2.0 * v);
  halo_exchange(handle, twice.data(), Type::f64, {rows, cols}, 1);
  for (std::size_t k = 0; k < twice.size(); ++k) ASSERT_EQ(twice[k], 2.0 * b.values[k]) << "at " << k;
  MPI_Comm_free(&cart);
}

TEST(MpiHaloExchange, WhatCannotBeExchangedIsAnErrorOnEveryRank) {
  std::int64_t world = MPI_Comm_c2f(MPI_COMM_WORLD), ghost = 1, n = 4;
  std::vector<double> v(4);
  EXPECT_THAT([&] { comm_operation("halo_exchange")({scalar(world), scalar(ghost), scalar(n), buffer(v, Type::f64)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("not Cartesian")));
  int dims[1] = {size_of(MPI_COMM_WORLD)}, periods[1] = {0};
  MPI_Comm cart = MPI_COMM_NULL;
  MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart);
  std::int64_t handle = MPI_Comm_c2f(cart), deep = 3, wrong = 5;
  EXPECT_THAT([&] { comm_operation("halo_exchange")({scalar(handle), scalar(ghost), scalar(wrong), buffer(v, Type::f64)}); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("not a block of the extents")));
  if (dims[0] > 1) {  // 4 points, 3 of them halo on an inner rank: fewer owned than the neighbours need
    EXPECT_THAT([&] { comm_operation("halo_exchange")({scalar(handle), scalar(deep), scalar(n), buffer(v, Type::f64)}); },
                testing::ThrowsMessage<std::runtime_error>(HasSubstr("fewer than the ghost depth")));
  }
  MPI_Comm_free(&cart);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  int failed = RUN_ALL_TESTS();  // every rank reports: a failure on one rank alone still shows
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return failed;
}
