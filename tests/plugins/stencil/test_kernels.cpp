// The kernels of the Asp stencil tests, end to end: the stencil plugin loaded
// by the registry turns their Trees into PSIR, the openmp backend compiles
// it, and every variant whose run check holds computes what the pure-Python
// kernel computes, written out here in C++ (bitwise for floats).
#include "pipeline.hpp"
#include "python_semantics.hpp"

#include "stencil/passes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

namespace {

using namespace asp::stencil::test;
using asp::core::Kernel;

// An array of any of the four dtypes, as bytes.
struct Buffer {
  DLDataType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;

  std::size_t size() const {
    std::size_t n = 1;
    for (std::int64_t e : shape) n *= static_cast<std::size_t>(e);
    return n;
  }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(bytes.data());
  }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
  double value(std::size_t i) const {
    if (dtype.code == kDLFloat) return dtype.bits == 64 ? as<double>()[i] : as<float>()[i];
    return dtype.bits == 64 ? static_cast<double>(as<std::int64_t>()[i]) : as<std::int32_t>()[i];
  }
};

template <class T>
constexpr DLDataType dtype_of() {
  if constexpr (std::is_same_v<T, double>) return f64;
  if constexpr (std::is_same_v<T, float>) return f32;
  if constexpr (std::is_same_v<T, std::int64_t>) return i64;
  return i32;
}

template <class T, class F>
Buffer grid(std::vector<std::int64_t> shape, F value) {
  Buffer b{dtype_of<T>(), std::move(shape), {}};
  b.bytes.resize(b.size() * sizeof(T));
  for (std::size_t i = 0; i < b.size(); ++i) b.as<T>()[i] = static_cast<T>(value(i));
  return b;
}

template <class T>
Buffer zeros(std::vector<std::int64_t> shape) {
  return grid<T>(std::move(shape), [](std::size_t) { return 0; });
}

std::function<double(std::size_t)> uniform(double lo, double hi, unsigned seed) {
  auto random = std::make_shared<std::mt19937>(seed);
  return [=](std::size_t) { return std::uniform_real_distribution<double>(lo, hi)(*random); };
}

using State = std::map<std::string, Buffer>;

std::string first_difference(const Buffer& got, const Buffer& expected) {
  const std::size_t width = got.bytes.size() / std::max<std::size_t>(got.size(), 1);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got.bytes[i * width], &expected.bytes[i * width], width) != 0) {
      std::ostringstream out;
      out.precision(17);
      out << "element " << i << ": " << got.value(i) << " instead of " << expected.value(i);
      return out.str();
    }
  }
  return "";
}

// Runs every runnable variant on a copy of `initial`; each must return
// `status` and, when that is ASP_C_OK, leave the grids of `expected` as given.
int check_variants(Kernel& kernel, const State& initial, const State& expected, int status = ASP_C_OK) {
  return run_variants(
      kernel, [&] { return initial; },
      [](State& s, Arrays& arrays) {
        for (auto& [name, b] : s) arrays.add(name, b.bytes.data(), b.shape);
      },
      [&](const State& s, int got, const std::string& variant) {
        EXPECT_EQ(got, status) << variant << ": " << kernel.describe_status(0, got);
        if (status != ASP_C_OK) return;
        for (const auto& [name, want] : expected) {
          EXPECT_EQ(first_difference(s.at(name), want), "") << variant << ", grid " << name;
        }
      });
}

std::vector<std::string> variant_names(const Kernel& kernel) {
  std::vector<std::string> names;
  for (const auto& v : kernel.variants()) names.push_back(v.function.name);
  return names;
}

class StencilKernels : public testing::Test {
 protected:
  static void SetUpTestSuite() { pipeline_ = new Pipeline(); }
  static void TearDownTestSuite() { delete pipeline_; }
  static Pipeline* pipeline_;
};

Pipeline* StencilKernels::pipeline_ = nullptr;

TEST_F(StencilKernels, ThePluginOffersItsComponentsInPipelineOrder) {
  auto names = [&](asp_component_kind kind) {
    std::vector<std::string> out;
    for (const asp_component* c : pipeline_->components(kind)) out.push_back(c->name);
    return out;
  };
  EXPECT_THAT(names(ASP_COMPONENT_FRONTEND), testing::ElementsAre("stencil"));
  EXPECT_THAT(names(ASP_COMPONENT_OPTIMIZER),
              testing::ElementsAre("stencil-unroll-neighbors", "stencil-fold-constants", "stencil-hoist-invariants"));
  std::vector<std::string> declared;  // what the core runs is the one list stencil/passes.hpp declares
  for (const asp::stencil::Pass& pass : asp::stencil::dsir_passes) declared.push_back(pass.name);
  EXPECT_EQ(names(ASP_COMPONENT_OPTIMIZER), declared);
  EXPECT_THAT(names(ASP_COMPONENT_LOWERING), testing::ElementsAre("stencil"));
  for (asp_component_kind kind : {ASP_COMPONENT_OPTIMIZER, ASP_COMPONENT_LOWERING}) {
    for (const asp_component* c : pipeline_->components(kind)) {
      const char* reads = kind == ASP_COMPONENT_OPTIMIZER ? static_cast<const asp_optimizer*>(c->vtable)->reads
                                                          : static_cast<const asp_lowering*>(c->vtable)->reads;
      EXPECT_STREQ(reads, "dsir.stencil") << c->name;
    }
  }
}

TEST_F(StencilKernels, ErrorsCrossTheAbiWithTheirStatusAndLocation) {
  Args args({{"in_grid", f64, {6, 7}}, {"out_grid", f64, {6, 7}}});
  const Specialized refused = pipeline_->specialize(tree("WithWhile"), args);
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->status, ASP_ERR_UNSUPPORTED);
  EXPECT_THAT(refused.error->message, testing::HasSubstr("'while' loops are not supported at line"));
  ASSERT_TRUE(refused.error->where);
  EXPECT_GT(refused.error->where->line, 0u);

  const Specialized invalid = pipeline_->specialize(tree("BeyondTheGhostZone"), args);
  ASSERT_TRUE(invalid.error);
  EXPECT_EQ(invalid.error->status, ASP_ERR_INVALID_ARGUMENT);

  const auto* optimizer = static_cast<const asp_optimizer*>(pipeline_->components(ASP_COMPONENT_OPTIMIZER).at(0)->vtable);
  std::string out;
  const asp_text_sink sink{sizeof sink, &out, [](void* c, const char* d, size_t n) { static_cast<std::string*>(c)->append(d, n); }};
  const auto error = asp::core::call_plugin("test", [&](asp_host_context* ctx) {
    return optimizer->run(optimizer->self, ctx, "asp-ir 1 dsir.stencil\nkernel k\nstore\n", &sink);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(error->message, testing::HasSubstr("DSIR 4:1: expected a grid name, found the end of the text"));
}

// StencilGrid's default neighbour set 1 in 2-D and 3-D.
const std::vector<std::vector<int>> axis_steps_2d = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
const std::vector<std::vector<int>> axis_steps_3d = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};

template <class T>
void four_neighbour_sum(Pipeline& pipeline, std::vector<std::int64_t> shape, int variants) {
  const std::int64_t n0 = shape[0], n1 = shape[1];
  Args args({{"in_grid", dtype_of<T>(), shape}, {"out_grid", dtype_of<T>(), shape}});
  auto kernel = pipeline.compile("four_neighbour_sum_2d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<T>(shape, [](std::size_t i) { return std::is_floating_point_v<T> ? 0.1 * (i % 17) : i % 7; });
  Buffer out = zeros<T>(shape);
  for (std::int64_t i = 1; i < n0 - 1; ++i) {
    for (std::int64_t j = 1; j < n1 - 1; ++j) {
      T o = out.as<T>()[i * n1 + j];
      for (const auto& d : axis_steps_2d) o = static_cast<T>(o + in.as<T>()[(i + d[0]) * n1 + j + d[1]]);
      out.as<T>()[i * n1 + j] = o;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<T>(shape)}}, {{"out_grid", out}}), variants);
}

TEST_F(StencilKernels, FourNeighbourSumOfEveryDtype) {
  // 10 x 14: 12 interior columns, so every variant runs; 9 x 11: 9, so the exact unrollings do not.
  four_neighbour_sum<double>(*pipeline_, {10, 14}, 5);
  four_neighbour_sum<double>(*pipeline_, {9, 11}, 3);
  four_neighbour_sum<float>(*pipeline_, {10, 14}, 5);
  four_neighbour_sum<std::int32_t>(*pipeline_, {10, 14}, 5);
  four_neighbour_sum<std::int64_t>(*pipeline_, {6, 3}, 3);
}

TEST_F(StencilKernels, FourNeighbourSumIn3D) {
  const std::vector<std::int64_t> shape{6, 7, 10};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("four_neighbour_sum_3d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>(shape, uniform(-1, 1, 1));
  Buffer out = zeros<double>(shape);
  auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) { return (i * 7 + j) * 10 + k; };
  for (std::int64_t i = 1; i < 5; ++i) {
    for (std::int64_t j = 1; j < 6; ++j) {
      for (std::int64_t k = 1; k < 9; ++k) {
        double o = 0;
        for (const auto& d : axis_steps_3d) o = o + in.as<double>()[at(i + d[0], j + d[1], k + d[2])];
        out.as<double>()[at(i, j, k)] = o;
      }
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 5);
}

TEST_F(StencilKernels, FourthOrderDerivativeWithGhostDepth2) {
  const std::int64_t n = 50;
  Args args({{"in_grid", f64, {n}}, {"out_grid", f64, {n}}});
  auto kernel = pipeline_->compile("derivative_1d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>({n}, [](std::size_t i) { return std::sin(0.01 * static_cast<double>(i)); });
  Buffer out = zeros<double>({n});
  const double* f = in.as<double>();
  const double h12 = 12 * 0.01;  // 12 * SPACING
  for (std::int64_t i = 2; i < n - 2; ++i) {
    double o = 0;
    o = o + f[i - 2] / h12;
    o = o - 8 * f[i - 1] / h12;
    o = o + 8 * f[i + 1] / h12;
    o = o - f[i + 2] / h12;
    out.as<double>()[i] = o;
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>({n})}}, {{"out_grid", out}}), 3);
}

TEST_F(StencilKernels, Laplacian2D) {
  const std::vector<std::int64_t> shape{10, 14};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("laplacian_2d", args);
  ASSERT_TRUE(kernel);
  EXPECT_THAT(variant_names(*kernel),
              testing::ElementsAre("kernel", "kernel_unroll2", "kernel_unroll4", "kernel_unroll4_rem", "kernel_tiled"));
  const Buffer in = grid<double>(shape, uniform(-1, 1, 2));
  Buffer out = zeros<double>(shape);
  for (std::int64_t i = 1; i < 9; ++i) {
    for (std::int64_t j = 1; j < 13; ++j) {
      double o = -4.0 * in.as<double>()[i * 14 + j];
      for (const auto& d : axis_steps_2d) o = o + in.as<double>()[(i + d[0]) * 14 + j + d[1]];
      out.as<double>()[i * 14 + j] = o;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 5);
}

State bilateral_grids(std::int64_t n) {
  auto gaussian = [](double sigma) {
    return [=](std::size_t i) {
      const double d = static_cast<double>(i);
      return std::exp(-(d * d) / (2 * sigma * sigma));
    };
  };
  return {{"in_img", grid<double>({n, n, n}, uniform(0, 255, 3))},
          {"filter_d", grid<double>({6}, gaussian(1.5))},
          {"filter_s", grid<double>({256}, gaussian(40.0))},
          {"out_img", zeros<double>({n, n, n})}};
}

TEST_F(StencilKernels, BilateralFilterIn3DWithLookupGridsAndRadius3) {
  const std::int64_t n = 10;
  Args args({{"in_img", f64, {n, n, n}}, {"filter_d", f64, {6}}, {"filter_s", f64, {256}}, {"out_img", f64, {n, n, n}}});
  auto kernel = pipeline_->compile("bilateral_3d", args);
  ASSERT_TRUE(kernel);
  // 342 neighbours: a point costs far more than its loop, so there are no unrolled or tiled copies to compile.
  EXPECT_THAT(variant_names(*kernel), testing::ElementsAre("kernel"));
  const State initial = bilateral_grids(n);
  Buffer out = initial.at("out_img");
  const double* in = initial.at("in_img").as<double>();
  const double* fd = initial.at("filter_d").as<double>();
  const double* fs = initial.at("filter_s").as<double>();
  auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) { return (i * n + j) * n + k; };
  for (std::int64_t i = 3; i < n - 3; ++i) {
    for (std::int64_t j = 3; j < n - 3; ++j) {
      for (std::int64_t k = 3; k < n - 3; ++k) {
        double o = 0;
        for (int a = -3; a <= 3; ++a) {
          for (int b = -3; b <= 3; ++b) {
            for (int c = -3; c <= 3; ++c) {
              if (a == 0 && b == 0 && c == 0) continue;
              const double y = in[at(i + a, j + b, k + c)];
              const auto d = static_cast<std::int64_t>(std::sqrt(static_cast<double>(a * a + b * b + c * c)));
              const std::int64_t s = std::llabs(static_cast<std::int64_t>(in[at(i, j, k)] - y));
              o = o + y * fd[d] * fs[s];
            }
          }
        }
        out.as<double>()[at(i, j, k)] = o;
      }
    }
  }
  EXPECT_EQ(check_variants(*kernel, initial, {{"out_img", out}}), 1);

  // A value far outside 0..255 indexes filter_s out of range: IndexError in Python.
  State bad = initial;
  bad.at("in_img").as<double>()[at(5, 5, 5)] = 1000.0;
  EXPECT_EQ(check_variants(*kernel, bad, {}, ASP_C_OUT_OF_BOUNDS + 2), 1);
  EXPECT_EQ(kernel->describe_status(0, ASP_C_OUT_OF_BOUNDS + 2), "a data-dependent index fell outside 'filter_s'");
}

TEST_F(StencilKernels, DistanceWeightedNeighbours) {
  const std::vector<std::int64_t> shape{9, 9};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("distance_2d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>(shape, uniform(0, 1, 4));
  Buffer out = zeros<double>(shape);
  const std::vector<std::vector<int>> offsets = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}};
  for (std::int64_t i = 1; i < 8; ++i) {
    for (std::int64_t j = 1; j < 8; ++j) {
      double o = 0;
      for (const auto& d : offsets) o = o + std::sqrt(static_cast<double>(d[0] * d[0] + d[1] * d[1])) * in.as<double>()[(i + d[0]) * 9 + j + d[1]];
      out.as<double>()[i * 9 + j] = o;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 3);
}

TEST_F(StencilKernels, ConwaysLifeThroughAnIntegerLookupTable) {
  const std::int64_t n = 16;
  Args args({{"in_grid", i64, {n, n}}, {"rules", i64, {18}}, {"out_grid", i64, {n, n}}});
  auto kernel = pipeline_->compile("life", args);
  ASSERT_TRUE(kernel);
  std::mt19937 random(5);
  const Buffer board = grid<std::int64_t>({n, n}, [&](std::size_t) { return random() % 2; });
  const Buffer rules = grid<std::int64_t>({18}, [](std::size_t i) { return i == 3 || i == 11 || i == 12; });
  Buffer out = zeros<std::int64_t>({n, n});
  const std::int64_t* b = board.as<std::int64_t>();
  for (std::int64_t i = 1; i < n - 1; ++i) {
    for (std::int64_t j = 1; j < n - 1; ++j) {
      std::int64_t alive = 0;
      for (int a = -1; a <= 1; ++a) {
        for (int c = -1; c <= 1; ++c) {
          if (a != 0 || c != 0) alive += b[(i + a) * n + j + c];
        }
      }
      out.as<std::int64_t>()[i * n + j] = rules.as<std::int64_t>()[alive + 9 * b[i * n + j]];
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", board}, {"rules", rules}, {"out_grid", zeros<std::int64_t>({n, n})}},
                           {{"out_grid", out}}),
            4);
}

TEST_F(StencilKernels, HeatIn2DWithItsBorder) {
  const std::vector<std::int64_t> shape{13, 7};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("heat_2d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>(shape, uniform(0, 1, 6));
  Buffer out = in;  // the border is a copy
  const double* u = in.as<double>();
  for (std::int64_t i = 1; i < 12; ++i) {
    for (std::int64_t j = 1; j < 6; ++j) {
      double o = u[i * 7 + j];
      for (const auto& d : axis_steps_2d) o = o + 0.1 * (u[(i + d[0]) * 7 + j + d[1]] - u[i * 7 + j]);
      out.as<double>()[i * 7 + j] = o;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 3);
}

TEST_F(StencilKernels, LaplacianWithSelfConstants) {
  const std::vector<std::int64_t> shape{8, 8, 8};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("constant_laplacian_3d", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>(shape, uniform(0, 1, 7));
  Buffer out = zeros<double>(shape);
  auto at = [](std::int64_t i, std::int64_t j, std::int64_t k) { return (i * 8 + j) * 8 + k; };
  for (std::int64_t i = 1; i < 7; ++i) {
    for (std::int64_t j = 1; j < 7; ++j) {
      for (std::int64_t k = 1; k < 7; ++k) {
        double o = -6.0 * in.as<double>()[at(i, j, k)];
        for (const auto& d : axis_steps_3d) o = o + 1.0 * in.as<double>()[at(i + d[0], j + d[1], k + d[2])];
        out.as<double>()[at(i, j, k)] = o;
      }
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 4);
}

// The Everything kernel of kernels.py, line by line.
Buffer everything(const Buffer& a_grid, const Buffer& b_grid) {
  const std::int64_t n0 = a_grid.shape[0], n1 = a_grid.shape[1];
  Buffer out = zeros<double>(a_grid.shape);
  const double* a = a_grid.as<double>();
  const double* b = b_grid.as<double>();
  const double scale = 0.25 * 2;
  for (std::int64_t i = 1; i < n0 - 1; ++i) {
    for (std::int64_t j = 1; j < n1 - 1; ++j) {
      const double u = a[i * n1 + j], v = b[i * n1 + j];
      const double s = std::sqrt(std::fabs(u)) + std::exp(-v * v) - std::log(1.0 + std::fabs(v));
      const double t = std::sin(u) * std::cos(v) / (u * u + 1);
      const double q = py_floordiv(u, 0.5) + py_mod(u, 0.75) - std::pow(std::pow(v, 2.0), 0.5);
      const std::int64_t n = py_floordiv(static_cast<std::int64_t>(u * 10), std::int64_t{3}) +
                             py_mod(static_cast<std::int64_t>(v * 10), std::int64_t{4}) - 8;
      const double m = py_min(py_min(u, v), 0.25) + py_max(u, -v) + static_cast<double>(static_cast<std::int64_t>(std::floor(u * 4))) +
                       std::fabs(v) + static_cast<double>(static_cast<std::int64_t>(std::ceil(v)));
      double w;
      if (u > v && !(u > 0.9 || v < -0.9)) {
        w = t < 0 ? s : t;
      } else if (0 <= u && u < 0.5) {
        w = q + static_cast<double>(n);
      } else {
        w = static_cast<double>(n) / 7;
      }
      std::int64_t k = 0;
      for (const auto& d : axis_steps_2d) {
        k += 1;
        const double y = a[(i + d[0]) * n1 + j + d[1]];
        if (y > u) w = w - y * scale;
      }
      out.as<double>()[i * n1 + j] = w + m / 2 - 0.25 * static_cast<double>(i - j) + (a[i * n1 + j] >= b[i * n1 + j] ? 1 : 0) +
                                     static_cast<double>(k) * M_PI;
    }
  }
  return out;
}

TEST_F(StencilKernels, EveryOperatorCallAndStatementBitwise) {
  const std::vector<std::int64_t> shape{12, 10};
  Args args({{"a", f64, shape}, {"b", f64, shape}, {"out", f64, shape}});
  auto kernel = pipeline_->compile("everything", args);
  ASSERT_TRUE(kernel);
  const Buffer a = grid<double>(shape, uniform(-1, 1, 8));
  const Buffer b = grid<double>(shape, uniform(-1, 1, 9));
  EXPECT_EQ(check_variants(*kernel, {{"a", a}, {"b", b}, {"out", zeros<double>(shape)}}, {{"out", everything(a, b)}}), 5);
}

TEST_F(StencilKernels, AKernelReadingWhatItWritesKeepsPythonsOrder) {
  const std::vector<std::int64_t> shape{9, 10};
  Args args({{"u", f64, shape}});
  const Specialized s = pipeline_->specialize(tree("jacobi"), args);
  ASSERT_FALSE(s.error) << s.error->message;
  EXPECT_THAT(s.psir, testing::Not(testing::HasSubstr("parallel")));
  EXPECT_THAT(s.psir, testing::Not(testing::HasSubstr("vectorized")));
  EXPECT_THAT(s.psir, testing::Not(testing::HasSubstr("_tiled")));
  auto kernel = pipeline_->compile("jacobi", args);
  ASSERT_TRUE(kernel);
  const Buffer initial = grid<double>(shape, uniform(0, 1, 10));
  Buffer u = initial;
  double* g = u.as<double>();
  for (std::int64_t i = 1; i < 8; ++i) {
    for (std::int64_t j = 1; j < 9; ++j) {
      double acc = 0.0;
      for (const auto& d : axis_steps_2d) acc += g[(i + d[0]) * 10 + j + d[1]];
      g[i * 10 + j] = acc / 4;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"u", initial}}, {{"u", u}}), 4);
}

TEST_F(StencilKernels, BorderNeighboursWrapAroundLikeNumpy) {
  const std::vector<std::int64_t> shape{5, 6};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("periodic_border", args);
  ASSERT_TRUE(kernel);
  const Buffer in = grid<double>(shape, uniform(0, 1, 11));
  Buffer out = zeros<double>(shape);
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 6; ++j) {
      if (i >= 1 && i < 4 && j >= 1 && j < 5) continue;  // interior
      double o = 0;
      o += in.as<double>()[wrap(i - 1, 5) * 6 + j];
      o += in.as<double>()[i * 6 + wrap(j - 1, 6)];
      out.as<double>()[i * 6 + j] = o;
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"out_grid", zeros<double>(shape)}}, {{"out_grid", out}}), 1);
}

TEST_F(StencilKernels, ABorderNeighbourPastTheEndIsOutOfBounds) {
  const std::vector<std::int64_t> shape{5, 6};
  Args args({{"in_grid", f64, shape}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("border_out_of_range", args);
  ASSERT_TRUE(kernel);
  const State initial{{"in_grid", grid<double>(shape, uniform(0, 1, 12))}, {"out_grid", zeros<double>(shape)}};
  EXPECT_EQ(check_variants(*kernel, initial, {}, ASP_C_OUT_OF_BOUNDS + 0), 1);
}

TEST_F(StencilKernels, DataDependentReadsWrapNegativeIndicesAndCheckTheRest) {
  const std::vector<std::int64_t> shape{6, 7};
  Args args({{"in_grid", f64, shape}, {"table", f64, {3}}, {"out_grid", f64, shape}});
  auto kernel = pipeline_->compile("lookup", args);
  ASSERT_TRUE(kernel);
  const Buffer table = grid<double>({3}, [](std::size_t i) { return 10.0 + static_cast<double>(i); });
  // int() truncates toward zero: -2.5 is -2, which NumPy reads as table[1].
  const Buffer in = grid<double>(shape, [](std::size_t i) { return static_cast<double>(i % 5) - 2.5; });
  Buffer out = zeros<double>(shape);
  for (std::int64_t i = 1; i < 5; ++i) {
    for (std::int64_t j = 1; j < 6; ++j) {
      const auto index = static_cast<std::int64_t>(in.as<double>()[i * 7 + j]);
      out.as<double>()[i * 7 + j] = table.as<double>()[wrap(index, 3)];
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"in_grid", in}, {"table", table}, {"out_grid", zeros<double>(shape)}},
                           {{"out_grid", out}}),
            3);
  for (double bad : {3.0, -4.0}) {  // one past the end; one before the start after wrapping
    Buffer beyond = in;
    beyond.as<double>()[2 * 7 + 3] = bad;
    EXPECT_EQ(check_variants(*kernel, {{"in_grid", beyond}, {"table", table}, {"out_grid", zeros<double>(shape)}}, {},
                             ASP_C_OUT_OF_BOUNDS + 1),
              3)
        << bad;
  }
}

TEST_F(StencilKernels, NumpyNumbersDivideByZeroWithoutRaising) {
  const std::vector<std::int64_t> shape{5, 8};
  Args args({{"a", i32, shape}, {"b", i32, shape}, {"q", i32, shape}, {"r", i32, shape}, {"t", f64, shape},
             {"f", f64, shape}, {"m", f64, shape}});
  auto kernel = pipeline_->compile("numpy_division", args);
  ASSERT_TRUE(kernel);
  const Buffer a = grid<std::int32_t>(shape, [](std::size_t i) { return static_cast<int>(i % 9) - 4; });
  const Buffer b = grid<std::int32_t>(shape, [](std::size_t i) { return static_cast<int>(i % 5) - 2; });
  State expected{{"q", zeros<std::int32_t>(shape)}, {"r", zeros<std::int32_t>(shape)}, {"t", zeros<double>(shape)},
                 {"f", zeros<double>(shape)},       {"m", zeros<double>(shape)}};
  for (std::int64_t i = 1; i < 4; ++i) {
    for (std::int64_t j = 1; j < 7; ++j) {
      const std::size_t x = static_cast<std::size_t>(i * 8 + j);
      const std::int32_t p = a.as<std::int32_t>()[x], d = b.as<std::int32_t>()[x];
      expected.at("q").as<std::int32_t>()[x] = d == 0 ? 0 : static_cast<std::int32_t>(py_floordiv(std::int64_t{p}, std::int64_t{d}));
      expected.at("r").as<std::int32_t>()[x] = d == 0 ? 0 : static_cast<std::int32_t>(py_mod(std::int64_t{p}, std::int64_t{d}));
      const double t = static_cast<double>(p) / static_cast<double>(d);  // IEEE: inf, -inf or nan for d == 0
      expected.at("t").as<double>()[x] = t;
      expected.at("f").as<double>()[x] = d == 0 ? t / static_cast<double>(d) : py_floordiv(t, static_cast<double>(d));
      expected.at("m").as<double>()[x] = d == 0 ? std::fmod(t, 0.0) : py_mod(t, static_cast<double>(d));
    }
  }
  State initial = expected;
  for (auto& [name, buffer] : initial) std::fill(buffer.bytes.begin(), buffer.bytes.end(), 0);
  initial["a"] = a;
  initial["b"] = b;
  EXPECT_EQ(check_variants(*kernel, initial, expected), 4);
}

TEST_F(StencilKernels, PythonNumbersRaiseOnADivisionByZero) {
  const std::vector<std::int64_t> shape{5, 6};
  Args args({{"a", i32, shape}, {"b", i32, shape}, {"out", i32, shape}});
  auto kernel = pipeline_->compile("python_division", args);
  ASSERT_TRUE(kernel);
  const Buffer a = grid<std::int32_t>(shape, [](std::size_t i) { return static_cast<int>(i); });
  const Buffer b = grid<std::int32_t>(shape, [](std::size_t i) { return static_cast<int>(i % 3) + 1; });
  Buffer out = zeros<std::int32_t>(shape);
  for (std::int64_t i = 1; i < 4; ++i) {
    for (std::int64_t j = 1; j < 5; ++j) {
      const std::size_t x = static_cast<std::size_t>(i * 6 + j);
      out.as<std::int32_t>()[x] = a.as<std::int32_t>()[x] + static_cast<std::int32_t>(py_floordiv(std::int64_t{7}, std::int64_t{b.as<std::int32_t>()[x]}));
    }
  }
  EXPECT_EQ(check_variants(*kernel, {{"a", a}, {"b", b}, {"out", zeros<std::int32_t>(shape)}}, {{"out", out}}), 5);
  Buffer zero = b;
  zero.as<std::int32_t>()[2 * 6 + 2] = 0;
  EXPECT_EQ(check_variants(*kernel, {{"a", a}, {"b", zero}, {"out", zeros<std::int32_t>(shape)}}, {}, ASP_C_ZERO_DIVISION), 5);
}

}  // namespace
