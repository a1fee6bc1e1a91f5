// The stencil frontend: the Trees of kernels.py become DSIR with Python's
// semantics made explicit; what it cannot specialize is refused with the
// construct and its line; what would read outside the arrays is an invalid
// argument before anything runs.
#include "stencil_support.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/frontend.hpp"

#include <asp/plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace {

using namespace asp::stencil;
using testing::HasSubstr;

// The DSIR text without the @line:column of each statement.
std::string dsir(const std::string& kernel, const std::vector<test::GridSpec>& grids) {
  test::Args args(grids);
  return std::regex_replace(print(translate(test::tree(kernel), args.get())), std::regex("@[0-9]+:[0-9]+ "), "");
}

std::string dsir(const std::string& kernel) { return dsir(kernel, test::sample_grids(kernel)); }

TEST(Frontend, TheLaplacianIsAnInteriorLoopAroundANeighbourLoop) {
  EXPECT_EQ(dsir("laplacian_2d"),
            "asp-ir 1 dsir.stencil\n"
            "kernel kernel\n"
            "grid in_grid: f64[10, 14] ghost 1\n"
            "grid out_grid: f64[10, 14] ghost 1\n"
            "for x in interior(out_grid) {\n"
            "  store out_grid[x] = (f64(neg(4:int)) * in_grid[x])\n"
            "  for y in neighbors(in_grid, x, 1) [(1, 0), (-1, 0), (0, 1), (0, -1)] {\n"
            "    store out_grid[x] = (out_grid[x] + in_grid[y])\n"
            "  }\n"
            "}\n");
}

TEST(Frontend, PythonNumbersTakeTheTypeOfTheNumpyValuesTheyMeet) {
  // NEP 50: -4 * a float32 value is a float32 product; 0.1 * a float64 difference a float64 one.
  EXPECT_THAT(dsir("laplacian_2d", {{"in_grid", test::f32, {6, 6}}, {"out_grid", test::f32, {6, 6}}}),
              HasSubstr("store out_grid[x] = (f32(neg(4:int)) * in_grid[x])"));
  EXPECT_THAT(dsir("heat_2d"), HasSubstr("store out_grid[x] = (out_grid[x] + (f64(0.10000000000000001:float) * (in_grid[y] - in_grid[x])))"));
  // A Python float with NumPy integers gives a float64; true division of integers too.
  EXPECT_THAT(dsir("numpy_division"), HasSubstr("store t[x] = (f64(a[x]) / f64(b[x]))"));
  EXPECT_THAT(dsir("numpy_division"), HasSubstr("store q[x] = (a[x] // b[x])"));
  EXPECT_THAT(dsir("python_division"), HasSubstr("store out[x] = (a[x] + i32((7:int // int(b[x]))))"));
}

TEST(Frontend, ConstantsComeFromGlobalsSelfConstantsAndMath) {
  EXPECT_THAT(dsir("constant_laplacian_3d"), HasSubstr("store out_grid[x] = (f64(-6:float) * in_grid[x])"));
  EXPECT_THAT(dsir("constant_laplacian_3d"), HasSubstr("(out_grid[x] + (f64(1:float) * in_grid[y]))"));
  EXPECT_THAT(dsir("derivative_1d"), HasSubstr("(in_grid[x(-2)] / f64((float(12:int) * 0.01:float)))"));
  const std::string everything = dsir("everything");
  EXPECT_THAT(everything, HasSubstr("let scale: float = (0.25:float * float(2:int))"));
  EXPECT_THAT(everything, HasSubstr("(float(k) * 3.1415926535897931:float)"));
}

TEST(Frontend, ALocalIsUnrolledThroughItsNeighbourLoopUntilItsTypeSettles) {
  // alive = 0 is a Python int; plus an int64 grid value it becomes a NumPy int64.
  const std::string life = dsir("life");
  EXPECT_THAT(life, HasSubstr("  var alive: int = 0:int\n"
                              "  var alive.1: i64 = (i64(alive) + in_grid[x(-1, -1)])\n"
                              "  for y in neighbors(in_grid, x, 1) [(-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)] {\n"
                              "    alive.1 = (alive.1 + in_grid[y])\n"
                              "  }\n"
                              "  store out_grid[x] = lookup(rules, int((alive.1 + (i64(9:int) * in_grid[x]))))\n"));
}

TEST(Frontend, BranchesMeetInOneVariable) {
  const std::string everything = dsir("everything");
  // w is a float64 in two branches and a Python float in the third: it continues as a float64.
  EXPECT_THAT(everything, HasSubstr("var w.2: float = (float(n) / float(7:int))\n"));
  EXPECT_THAT(everything, HasSubstr("w.3 = f64(w.2)\n"));
  EXPECT_THAT(everything, HasSubstr("store out[x] = ((((w.4 + "));
}

struct Refusal {
  std::string kernel;
  asp_status status;
  unsigned line;
};

std::vector<Refusal> refusals() {
  std::ifstream in(std::string(ASP_STENCIL_TEST_DATA) + "/refusals.txt");
  std::vector<Refusal> out;
  std::string kernel, status;
  unsigned line;
  while (in >> kernel >> status >> line) {
    out.push_back({kernel, status == "invalid" ? ASP_ERR_INVALID_ARGUMENT : ASP_ERR_UNSUPPORTED, line});
  }
  return out;
}

TEST(Frontend, EveryRefusalNamesItsConstructAndLine) {
  const std::map<std::string, std::string> messages = {
      {"WithWhile", "'while' loops are not supported"},
      {"CallsUnknown", "unsupported call to 'foo'"},
      {"CallsNumpy", "unsupported call to 'np.sqrt'"},
      {"WritesAttribute", "assignment to the attribute 'self.last' is not supported"},
      {"ReadsString", "read of unknown name 'NAME'"},
      {"ReadsUnknownName", "read of unknown name 'undefined_name'"},
      {"ReadsPreviousPoint", "'last' is read before it is assigned at this point"},
      {"ReturnsValue", "'return' is not supported"},
      {"NestedPointLoops", "point loops cannot be nested"},
      {"LoopsOverRange", "loops over 'range(...)' are not supported"},
      {"BitwiseOperator", "the operator '<<' is not supported"},
      {"FloatIndex", "'table' is indexed with a float"},
      {"VariableIntegerPower", "'**' of integers needs a constant exponent"},
      {"WritesNeighbour", "a kernel writes 'out_grid' only at the point of its loop"},
      {"ListComprehension", "unsupported call to 'sum'"},
      {"TypeChangesInBranch", "'v' may be unassigned, or hold a value of another type, after the 'if' of line"},
      {"BeyondTheGhostZone", "grid 'in_grid' is read at offset (2, 0) from the interior points of 'out_grid', beyond its ghost depth 1"},
      {"OtherShape", "grid 'in_grid' has shape (6, 7) but is accessed at the points of 'out_grid', whose shape is (6, 6)"},
  };
  const auto all = refusals();
  ASSERT_EQ(all.size(), messages.size());
  for (const Refusal& r : all) {
    std::vector<test::GridSpec> grids = {{"in_grid", test::f64, {6, 7}}, {"out_grid", test::f64, {6, r.kernel == "OtherShape" ? 6 : 7}}};
    if (r.kernel == "FloatIndex") grids.insert(grids.begin() + 1, {"table", test::f64, {3}});
    test::Args args(grids);
    try {
      translate(test::tree(r.kernel), args.get());
      ADD_FAILURE() << r.kernel << " was translated";
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), r.status) << r.kernel << ": " << e.what();
      EXPECT_THAT(e.what(), HasSubstr(messages.at(r.kernel))) << r.kernel;
      EXPECT_THAT(e.what(), HasSubstr("at line " + std::to_string(r.line))) << r.kernel;
      ASSERT_TRUE(e.where()) << r.kernel;
      EXPECT_EQ(e.where()->line, r.line) << r.kernel;
      EXPECT_GT(e.where()->column, 0u) << r.kernel;
    }
  }
}

TEST(Frontend, TheLocationPointsAtTheConstruct) {
  test::Args args({{"in_grid", test::f64, {6, 7}}, {"out_grid", test::f64, {6, 7}}});
  try {
    translate(test::tree("WithWhile"), args.get());
    FAIL();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.where()->column, 13u);  // `while` at Python's column 12, 1-based in the ABI
  }
}

void expect_error(const std::string& tree, const std::vector<test::GridSpec>& grids, asp_status status, const std::string& message) {
  test::Args args(grids);
  try {
    translate(tree, args.get());
    ADD_FAILURE() << "translated, expected: " << message;
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(message));
  }
}

TEST(Frontend, TheArgumentsMustBeTheKernelsGrids) {
  const std::string laplacian = test::tree("laplacian_2d");
  const std::vector<std::int64_t> shape{6, 6};
  expect_error(laplacian, {{"a", test::f64, shape}, {"b", test::f64, shape}}, ASP_ERR_INVALID_ARGUMENT,
               "the kernel's grid parameters (in_grid, out_grid) do not match the arguments it was called with (a, b)");
  expect_error(laplacian, {{"in_grid", DLDataType{kDLUInt, 8, 1}, shape}, {"out_grid", test::f64, shape}}, ASP_ERR_UNSUPPORTED,
               "grid 'in_grid' has a dtype other than float64, float32, int64 or int32");
  expect_error(laplacian, {{"in_grid", test::f64, {2, 2, 2, 2, 2}}, {"out_grid", test::f64, shape}}, ASP_ERR_UNSUPPORTED,
               "grid 'in_grid' has 5 axes; a stencil grid has one to four");

  test::Args strided({{"in_grid", test::f64, shape}, {"out_grid", test::f64, shape}});
  std::vector<asp_arg> args = strided.get();
  std::int64_t strides[] = {1, 6};  // Fortran order
  args[0].tensor.strides = strides;
  try {
    translate(laplacian, args);
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
    EXPECT_THAT(e.what(), HasSubstr("grid 'in_grid' is not C-contiguous"));
  }
  args[0].tensor.strides = nullptr;
  args[1].kind = ASP_ARG_SCALAR;
  EXPECT_THROW(translate(laplacian, args), asp::Error);
}

TEST(Frontend, TheBindingMustSayWhatTheGridsAre) {
  const std::vector<test::GridSpec> grids = {{"in_grid", test::f64, {6, 6}}, {"out_grid", test::f64, {6, 6}}};
  std::string tree = test::tree("laplacian_2d");
  const std::string ghost = " (Constant name=\"out_grid.ghost_depth\" value=1)";
  ASSERT_NE(tree.find(ghost), std::string::npos);
  expect_error(std::string(tree).replace(tree.find(ghost), ghost.size(), ""), grids, ASP_ERR_INVALID_ARGUMENT,
               "no ghost depth was given for grid 'out_grid'");
  expect_error(std::string(tree).replace(tree.find(ghost), ghost.size(), " (Constant name=\"out_grid.ghost_depth\" value=-1)"),
               grids, ASP_ERR_INVALID_ARGUMENT, "grid 'out_grid' has a negative ghost depth");
  const std::string neighbors = "(Constant name=\"in_grid.neighbor_definition\"";
  expect_error(std::string(tree).replace(tree.find(neighbors), neighbors.size(), "(Constant name=\"unrelated\""), grids,
               ASP_ERR_INVALID_ARGUMENT, "no neighbour definition was given for grid 'in_grid'");
  expect_error("asp-ir 1 tree\n(Specialize function=(FunctionDef", grids, ASP_ERR_INVALID_ARGUMENT, "malformed tree");
  expect_error("asp-ir 1 tree\n(Module)", grids, ASP_ERR_INVALID_ARGUMENT, "the root is not a Specialize node");
}

}  // namespace
