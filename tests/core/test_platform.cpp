// The hwloc platform probe reports a consistent picture of this machine.
#include "asp/core/platform.hpp"

#include <gtest/gtest.h>

#include <sched.h>

namespace {

TEST(Platform, TopologyIsConsistent) {
  const auto& p = asp::core::platform();
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_GE(p.cores, 1u);
  EXPECT_GE(p.pus, p.cores);
  EXPECT_GE(p.numa_nodes, 1u);
  EXPECT_GE(p.packages, 1u);
  EXPECT_GT(p.memory, 0u);
  EXPECT_FALSE(p.architecture.empty());
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  EXPECT_EQ(p.pus, static_cast<unsigned>(CPU_COUNT(&allowed)));  // hwloc sees the CPUs we may run on
}

TEST(Platform, CachesHaveSizesAndLines) {
  const auto& p = asp::core::platform();
  ASSERT_FALSE(p.caches.empty());
  for (const auto& c : p.caches) {
    EXPECT_GT(c.size, 0u) << c.name();
    EXPECT_GT(c.line_size, 0u) << c.name();
    EXPECT_GE(c.instances, 1u) << c.name();
  }
  EXPECT_GT(p.last_level_cache(), 0u);
}

TEST(Platform, ProbedOncePerProcess) { EXPECT_EQ(&asp::core::platform(), &asp::core::platform()); }

}  // namespace
