// The MPI layer in a process that never initialized MPI (every test process
// but the one mpi_collectives runs under mpirun): its operations are
// registered, and each says what to do instead of calling into MPI.
#include "asp/core/mpi.hpp"
#include "asp/core/program.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace asp::core;
using testing::HasSubstr;

TEST(MpiLayer, ReportsWhyItCannotCommunicateBeforeMpiInit) {
  const MpiInfo info = mpi_info();
  EXPECT_FALSE(info.initialized);
  if (info.built) {
    EXPECT_THAT(info.library, testing::Not(testing::IsEmpty()));
    EXPECT_GE(info.standard_major, 3);
    EXPECT_THAT(info.reason, HasSubstr("import mpi4py.MPI"));
  } else {
    EXPECT_THAT(info.reason, HasSubstr("built without MPI"));
  }
}

TEST(MpiLayer, EveryOperationIsRegisteredAndRefusesToRunWithoutMpi) {
  std::int64_t handle = 0;
  double value = 1.0;
  const std::vector<CommArgument> args{{&handle, sizeof handle, asp::psir::Type::i64, false},
                                       {&value, sizeof value, asp::psir::Type::f64, true}};
  for (const char* name : {"allreduce_sum", "allreduce_max", "allreduce_min", "broadcast", "barrier"}) {
    const CommOperation operation = comm_operation(name);
    ASSERT_TRUE(operation) << name;
    EXPECT_THAT([&] { operation(args); }, testing::ThrowsMessage<std::runtime_error>(HasSubstr(mpi_info().reason)))
        << name;
  }
  EXPECT_EQ(value, 1.0);
  EXPECT_FALSE(comm_operation("halo_exchange_of_another_layer"));
}

}  // namespace
