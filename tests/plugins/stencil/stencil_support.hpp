// Shared by the stencil tests: the Trees of kernels.py and argument descriptions.
#pragma once

#include <asp/plugin.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace asp::stencil::test {

// The Tree text make_trees.py wrote for kernel `name`.
inline std::string tree(const std::string& name) {
  std::ifstream in(std::string(ASP_STENCIL_TEST_DATA) + "/" + name + ".tree");
  if (!in) throw std::runtime_error("no test tree " + name + " (run tests/plugins/stencil/make_trees.py)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline constexpr DLDataType f64{kDLFloat, 64, 1};
inline constexpr DLDataType f32{kDLFloat, 32, 1};
inline constexpr DLDataType i64{kDLInt, 64, 1};
inline constexpr DLDataType i32{kDLInt, 32, 1};

struct GridSpec {
  std::string name;
  DLDataType dtype;
  std::vector<std::int64_t> shape;
};

// Descriptions of grid arguments as the binding passes them (no data).
class Args {
 public:
  Args(std::vector<GridSpec> grids) : grids_(std::move(grids)) {
    for (GridSpec& g : grids_) {
      asp_arg a{};
      a.struct_size = sizeof(asp_arg);
      a.name = g.name.c_str();
      a.kind = ASP_ARG_TENSOR;
      a.tensor.ndim = static_cast<int>(g.shape.size());
      a.tensor.dtype = g.dtype;
      a.tensor.shape = g.shape.data();
      args_.push_back(a);
    }
  }
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;
  const std::vector<asp_arg>& get() const { return args_; }

 private:
  std::vector<GridSpec> grids_;
  std::vector<asp_arg> args_;
};

// Arguments each kernel of data/ is specialized for in the tests that need just one.
inline std::vector<GridSpec> sample_grids(const std::string& kernel) {
  const std::vector<std::int64_t> plane{10, 14}, cube{8, 8, 8};
  static const std::map<std::string, std::vector<GridSpec>> grids = {
      {"four_neighbour_sum_2d", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"four_neighbour_sum_3d", {{"in_grid", f64, cube}, {"out_grid", f64, cube}}},
      {"derivative_1d", {{"in_grid", f64, {40}}, {"out_grid", f64, {40}}}},
      {"laplacian_2d", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"bilateral_3d",
       {{"in_img", f64, {10, 10, 10}}, {"filter_d", f64, {6}}, {"filter_s", f64, {256}}, {"out_img", f64, {10, 10, 10}}}},
      {"distance_2d", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"life", {{"in_grid", i64, plane}, {"rules", i64, {18}}, {"out_grid", i64, plane}}},
      {"heat_2d", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"constant_laplacian_3d", {{"in_grid", f64, cube}, {"out_grid", f64, cube}}},
      {"everything", {{"a", f64, plane}, {"b", f64, plane}, {"out", f64, plane}}},
      {"jacobi", {{"u", f64, plane}}},
      {"periodic_border", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"border_out_of_range", {{"in_grid", f64, plane}, {"out_grid", f64, plane}}},
      {"lookup", {{"in_grid", f64, plane}, {"table", f64, {3}}, {"out_grid", f64, plane}}},
      {"numpy_division",
       {{"a", i32, plane}, {"b", i32, plane}, {"q", i32, plane}, {"r", i32, plane}, {"t", f64, plane}, {"f", f64, plane},
        {"m", f64, plane}}},
      {"python_division", {{"a", i32, plane}, {"b", i32, plane}, {"out", i32, plane}}},
  };
  return grids.at(kernel);
}

inline std::vector<std::string> sample_kernels() {
  return {"four_neighbour_sum_2d", "four_neighbour_sum_3d", "derivative_1d", "laplacian_2d", "bilateral_3d",
          "distance_2d",           "life",                  "heat_2d",       "constant_laplacian_3d", "everything",
          "jacobi",                "periodic_border",       "border_out_of_range", "lookup", "numpy_division",
          "python_division"};
}

}  // namespace asp::stencil::test
