// Golden files: generated source compared with a file kept in the tree.
// ASP_UPDATE_GOLDEN=1 rewrites the files instead (review the diff).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace asp::test {

inline void expect_golden(const std::string& source, const std::string& golden) {
  if (std::getenv("ASP_UPDATE_GOLDEN")) std::ofstream(golden) << source;
  std::ifstream in(golden);
  ASSERT_TRUE(in) << "missing golden file " << golden << " (run with ASP_UPDATE_GOLDEN=1)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(source, expected.str()) << golden;
}

}  // namespace asp::test
