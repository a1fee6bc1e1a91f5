// An out-of-tree domain plugin on the program model (DESIGN.md §12), built
// against the installed Asp only: power iteration as a two-kernel program.
// The mat-vec kernel is generated PSIR; the normalisation is hand-written, in
// C for the host backends and in OpenCL C for the opencl backend, with a
// template parameter (partial sums per step) the tuner chooses among. The
// host schedule repeats both launches until the eigenvalue estimate changes
// by less than the tolerance, natively, with no Python between steps.
#define ASP_PLUGIN_MIN_ABI_MINOR 2
#include <asp/frontend_kit.hpp>
#include <asp/plugin.hpp>

#include <string>

namespace {

const char* const dialect = "dsir.power";

// Checks the arguments: A (n, n) float64, x (n,) float64, lam (1,) float64, tol float, max_iter int.
class PowerFrontend : public asp::Frontend {
 public:
  std::string translate(asp::Call&, std::string_view, std::span<const asp_arg> args) override {
    auto fail = [](const std::string& message) { throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message); };
    if (args.size() != 5) fail("power iteration takes A, x, lam, tol and max_iter");
    // The frontend kit, from the installed headers, names the NumPy type of an array's elements.
    auto is_f64_array = [](const asp_arg& a, int ndim) {
      return a.kind == ASP_ARG_TENSOR && asp::frontend_kit::numpy_dtype(a.tensor.dtype) == asp::frontend_kit::Scalar::float64 &&
             a.tensor.ndim == ndim;
    };
    if (!is_f64_array(args[0], 2) || args[0].tensor.shape[0] != args[0].tensor.shape[1]) fail("A must be a square float64 matrix");
    if (!is_f64_array(args[1], 1) || args[1].tensor.shape[0] != args[0].tensor.shape[0]) fail("x must be a float64 vector of A's size");
    if (!is_f64_array(args[2], 1) || args[2].tensor.shape[0] != 1) fail("lam must be a float64 array of one element");
    if (args[3].kind != ASP_ARG_SCALAR || args[4].kind != ASP_ARG_SCALAR) fail("tol and max_iter must be numbers");
    return asp::ir::header_line(1, dialect) + "power iteration\n";
  }
};

class PowerLowering : public asp::Lowering {
 public:
  std::string lower(asp::Call&, std::string_view) override {
    return "asp-ir 2 psir\n"
           "kernel matvec(A: buffer f64[n, n], x: buffer f64[n], y: buffer f64[n], n: i64) writes(y)\n"
           "kernel normalize(y: buffer f64[n], x: buffer f64[n], lam: buffer f64[1], n: i64) writes(x, lam)\n"
           "func matvec_rows(A: buffer f64[n, n], x: buffer f64[n], y: buffer f64[n], n: i64) of matvec {\n"
           "  for i in 0:i64 .. n step 1 parallel {\n"
           "    var acc: f64 = 0:f64\n"
           "    for j in 0:i64 .. n step 1 serial {\n"
           "      acc += (A[i, j] * x[j])\n"
           "    }\n"
           "    store y[i] = acc\n"
           "  }\n"
           "}\n"
           "program(A: buffer f64[n, n], x: buffer f64[n], lam: buffer f64[1], n: i64, tol: f64, max_iter: i64) {\n"
           "  temp y: buffer f64[n]\n"
           "  var previous: f64 = 0:f64\n"
           "  for it in 0:i64 .. max_iter {\n"
           "    launch matvec(A, x, y, n)\n"
           "    launch normalize(y, x, lam, n)\n"
           "    let change: f64 = abs((lam[0:i64] - previous))\n"
           "    previous = lam[0:i64]\n"
           "    if (change < tol) {\n"
           "      break\n"
           "    }\n"
           "  }\n"
           "}\n";
  }
};

// x = y / |y|, lam = |y|, the squares summed in PARTS interleaved partial sums.
const char* const normalize_c = R"(
int ASP_VARIANT(void* const* args) {
  const double* y = (const double*)args[0];
  double* x = (double*)args[1];
  double* lam = (double*)args[2];
  const long long n = *(const long long*)args[3];
  double part[PARTS] = {0};
  for (long long i = 0; i < n; i += PARTS) {
    for (int k = 0; k < PARTS; ++k) part[k] += y[i + k] * y[i + k];
  }
  double sum = 0;
  for (int k = 0; k < PARTS; ++k) sum += part[k];
  const double norm = __builtin_sqrt(sum);
  lam[0] = norm;
  if (norm == 0) return ASP_C_ZERO_DIVISION_STATUS;
  for (long long i = 0; i < n; ++i) x[i] = y[i] / norm;
  return 0;
}
)";

const char* const normalize_opencl = R"(
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__kernel void ASP_VARIANT(__global const double* y, __global double* x, __global double* lam, long n,
                          __global int* status) {
  double sum = 0;
  for (long i = 0; i < n; ++i) sum += y[i] * y[i];
  const double norm = sqrt(sum);
  lam[0] = norm;
  if (norm == 0) {
    *status = 1;
    return;
  }
  for (long i = 0; i < n; ++i) x[i] = y[i] / norm;
}
)";

asp::KernelSource normalize_in_c() {
  return {.kernel = "normalize",
          .variant = "normalize_c",
          .language = "c",
          .source = "#define ASP_C_ZERO_DIVISION_STATUS " + std::to_string(ASP_C_ZERO_DIVISION) + "\n" + normalize_c,
          .requires_ = "((n % PARTS) == 0:i64)",
          .template_params = {{"PARTS", {1, 4}}}};
}

asp::KernelSource normalize_in_opencl() {
  return {.kernel = "normalize",
          .variant = "normalize_cl",
          .language = "opencl-c",
          .source = normalize_opencl,
          .grid = "1:i64",
          .block = "1:i64"};
}

}  // namespace

ASP_PLUGIN("power", "1.0.0", "power iteration: a two-kernel program with a hand-written variant",
           asp::frontend<PowerFrontend>("power.frontend", "power"),
           asp::lowering<PowerLowering>("power.lowering", "power", dialect),
           asp::kernel_source("power.normalize_c", "power", normalize_in_c()),
           asp::kernel_source("power.normalize_cl", "power", normalize_in_opencl()))
