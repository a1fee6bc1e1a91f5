// The GMM specializer (README.md, "The GMM specializer"): EM training of a Gaussian
// mixture as a program of kernels (DESIGN.md §12) with a native host loop.
// The frontend checks the arguments asp.gmm passes; the lowering writes the
// program for the events' type; the kernels are hand-written sources
// (kernels/*.c, embedded at build time by CMake into gmm_sources.hpp).
#define ASP_PLUGIN_MIN_ABI_MINOR 2
#include <asp/plugin.hpp>

#include "gmm_sources.hpp"

#include <string>
#include <vector>

namespace {

const char* const dialect = "dsir.gmm";

// The device kernels (kernels/*.cl): em_pass's work-groups (the rows of its
// per-work-group statistics) and the work-items of a work-group.
constexpr int opencl_groups = 64;
constexpr int opencl_block = 64;

// The program's parameters in the order asp.gmm passes them.
const char* const param_names[] = {"X",      "shift",  "weights", "means",    "covars",   "pchol",    "W",
                                   "S",      "logprob", "resp",   "bounds",   "result",   "final",    "ctype",    "tol",
                                   "reg",    "min_iter", "max_iter", "original", "prev", "have_prev", "init", "fused",
                                   "mpi_comm", "total_n"};
constexpr std::size_t first_scalar = 13;
constexpr std::size_t param_count = sizeof(param_names) / sizeof(param_names[0]);

[[noreturn]] void fail(const std::string& message) { throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message); }

bool is_float(const asp_arg& a, int bits) {
  return a.kind == ASP_ARG_TENSOR && a.tensor.dtype.code == kDLFloat && a.tensor.dtype.bits == bits &&
         a.tensor.dtype.lanes == 1;
}

void expect_shape(const asp_arg& a, std::size_t index, int bits, std::vector<std::int64_t> shape) {
  const std::string what = std::string(param_names[index]) + " must be a float" + std::to_string(bits) + " array of shape (";
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (!is_float(a, bits) || a.tensor.ndim != static_cast<int>(shape.size())) fail(what + dims + ")");
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (a.tensor.shape[i] != shape[i]) fail(what + dims + ")");
  }
}

std::int64_t features(std::int64_t d, std::int64_t ctype) {
  return ctype == 2 ? 1 + 2 * d : ctype == 3 ? 2 + d : 1 + d + d * (d + 1) / 2;
}

class GmmFrontend : public asp::Frontend {
 public:
  std::string translate(asp::Call&, std::string_view, std::span<const asp_arg> args) override {
    if (args.size() != param_count) {
      fail("the gmm domain takes " + std::to_string(param_count) + " arguments (asp.gmm passes them), not " +
           std::to_string(args.size()));
    }
    const asp_arg& x = args[0];
    if (!is_float(x, 32) && !is_float(x, 64)) fail("X must be a float32 or float64 array");
    if (x.tensor.ndim != 2) fail("X must have two axes (events, features)");
    const int bits = x.tensor.dtype.bits;
    const std::int64_t n = x.tensor.shape[0], d = x.tensor.shape[1];
    if (n < 1 || d < 1) fail("X needs at least one event and one feature");
    if (args[2].kind != ASP_ARG_TENSOR || args[2].tensor.ndim != 1) fail("weights must be a vector");
    const std::int64_t m = args[2].tensor.shape[0];
    if (m < 1) fail("a mixture needs at least one component");
    for (std::size_t i = first_scalar; i < param_count; ++i) {
      if (args[i].kind != ASP_ARG_SCALAR) fail(std::string(param_names[i]) + " must be a number");
    }
    const std::int64_t ctype = args[first_scalar].scalar.i;
    if (ctype < 0 || ctype > 3) fail("ctype must be 0 (full), 1 (tied), 2 (diag) or 3 (spherical)");
    if (args[param_count - 1].scalar.i < n) fail("total_n (the events of every rank) must be at least this rank's n");
    const std::int64_t kp = (features(d, ctype) + gmm::feature_multiple - 1) / gmm::feature_multiple * gmm::feature_multiple;
    const std::int64_t mp = (m + gmm::component_multiple - 1) / gmm::component_multiple * gmm::component_multiple;
    expect_shape(args[1], 1, 64, {d});
    expect_shape(args[2], 2, 64, {m});
    expect_shape(args[3], 3, 64, {m, d});
    expect_shape(args[4], 4, 64, {m, d, d});
    expect_shape(args[5], 5, 64, {m, d, d});
    expect_shape(args[6], 6, bits, {kp, mp});
    expect_shape(args[7], 7, 64, {kp, mp});
    expect_shape(args[8], 8, bits, {n});
    expect_shape(args[9], 9, bits, {n, m});
    if (!is_float(args[10], 64) || args[10].tensor.ndim != 1) fail("bounds must be a float64 vector");
    expect_shape(args[11], 11, 64, {4});
    expect_shape(args[12], 12, 64, {1});
    return asp::ir::header_line(1, dialect) + "gmm f" + std::to_string(bits) + "\n";
  }
};

// The program: the coefficients of the initial parameters (or, with init
// set, the parameters that an M-step gives for the responsibilities in
// resp: an initialisation's), then EM
// iterations, each one fused pass (em_pass) or, with fused = 0, an E-step
// that keeps the responsibilities and the statistics from them (the
// original's separate steps, whose M-step strategies are CUDA variants),
// until the change of the mean log-likelihood is below tol (not
// before min_iter iterations, at most max_iter), stopping early when a
// covariance is not positive definite; then a last E-step whose per-event
// results are kept. `prev` is the lower bound a warm start continues from
// (when have_prev is set, the first iteration may already converge).
// bounds[i] = the lower bound of iteration i; result = [lower bound,
// iterations, converged, failing component + 1 or 0]; final = the last
// E-step's mean log-likelihood. With mpi_comm, the Fortran handle of an MPI
// communicator (-1: this process alone; 0 is a valid handle, Open MPI's
// MPI_COMM_WORLD), X is this rank's shard of total_n
// events: the statistics S and the mean log-likelihood ll (each rank's mean
// weighted by n / total_n first) are summed over the ranks after every pass
// (comm allreduce_sum, identical bits on every rank), so the M-step, the
// convergence test and the loop's exit are every rank's (final stays this
// rank's mean, which asp.gmm combines itself: a comm after the last E-step
// would hide which variant ran it). The
// M-step divides by nothing but S's own sums, so it needs no global n. The
// last launch is the E-step's, so the variant a call reports is the one that
// ran it. The tuner keys its choices
// by (M, D, covariance type, floor(log10 N)), as the original specializer
// did by (M, D, floor(log10 N)): a choice carries over to other data sizes of
// the same order of magnitude and across processes. Distributed, N is the
// rank's shard (what its kernels run on) and each rank chooses for itself:
// variants differ in rounding only, and the sums that every rank uses are
// reduced once and broadcast, so the ranks still agree bit for bit.
std::string program_for(const std::string& t) {
  // The temporaries partial_s, partial_ll (the device em_pass's
  // per-work-group statistics, opencl_groups rows) and work (the device
  // update's and coefficients' scratch, 8 m d d >= GMM_UPDATE_WORK(d, m)
  // doubles) are passed to every variant; the CPU kernels ignore them.
  const std::string groups = std::to_string(opencl_groups);
  const std::string kernels =
      "kernel coefficients_" + t + "(weights: buffer f64[m], means: buffer f64[m, d], pchol: buffer f64[m, d, d], "
      "shift: buffer f64[d], W: buffer " + t + "[kp, mp], d: i64, m: i64, kp: i64, mp: i64, ctype: i64, "
      "work: buffer f64[8, m, d, d]) writes(W, work)\n"
      "kernel em_pass_" + t + "(X: buffer " + t + "[n, d], shift: buffer f64[d], W: buffer " + t + "[kp, mp], "
      "S: buffer f64[kp, mp], ll: buffer f64[1], n: i64, d: i64, m: i64, kp: i64, mp: i64, ctype: i64, "
      "logprob: buffer " + t + "[n], resp: buffer " + t + "[n, m], partial_s: buffer f64[" + groups + ", kp, mp], "
      "partial_ll: buffer f64[" + groups + "]) writes(S, ll, logprob, resp, partial_s, partial_ll)\n"
      "kernel em_reduce_" + t + "(partial_s: buffer f64[" + groups + ", kp, mp], partial_ll: buffer f64[" + groups + "], "
      "S: buffer f64[kp, mp], ll: buffer f64[1], n: i64, kp: i64, mp: i64) writes(S, ll)\n"
      "kernel update_" + t + "(S: buffer f64[kp, mp], shift: buffer f64[d], weights: buffer f64[m], means: buffer f64[m, d], "
      "covars: buffer f64[m, d, d], pchol: buffer f64[m, d, d], W: buffer " + t + "[kp, mp], info: buffer f64[1], n: i64, "
      "d: i64, m: i64, kp: i64, mp: i64, ctype: i64, reg: f64, original: i64, work: buffer f64[8, m, d, d]) "
      "writes(weights, means, covars, pchol, W, info, work)\n"
      "kernel estep_" + t + "(X: buffer " + t + "[n, d], shift: buffer f64[d], W: buffer " + t + "[kp, mp], "
      "logprob: buffer " + t + "[n], resp: buffer " + t + "[n, m], ll: buffer f64[1], n: i64, d: i64, m: i64, kp: i64, "
      "mp: i64, ctype: i64) writes(logprob, resp, ll)\n"
      "kernel mstep_stats_" + t + "(X: buffer " + t + "[n, d], shift: buffer f64[d], resp: buffer " + t + "[n, m], "
      "S: buffer f64[kp, mp], n: i64, d: i64, m: i64, kp: i64, mp: i64, ctype: i64) writes(S)\n"
      "kernel clear_stats(S: buffer f64[kp, mp], ll: buffer f64[1], kp: i64, mp: i64) writes(S, ll)\n"
      "kernel record_bound(bounds: buffer f64[b], b: i64, it: i64, value: f64) writes(bounds)\n"
      "kernel record(result: buffer f64[4], lb: f64, iters: i64, converged: i64, failed: f64) writes(result)\n"
      "kernel scale(v: buffer f64[1], factor: f64) writes(v)\n";
  const std::string record =
      "func clear_stats_values(S: buffer f64[kp, mp], ll: buffer f64[1], kp: i64, mp: i64) of clear_stats {\n"
      "  for k in 0:i64 .. kp step 1 parallel {\n"
      "    if (k == 0:i64) {\n"
      "      store ll[0:i64] = 0:f64\n"
      "    }\n"
      "    for c in 0:i64 .. mp step 1 serial {\n"
      "      store S[k, c] = 0:f64\n"
      "    }\n"
      "  }\n"
      "}\n"
      "func record_bound_value(bounds: buffer f64[b], b: i64, it: i64, value: f64) of record_bound {\n"
      "  store bounds[it] = value\n"
      "}\n"
      "func record_values(result: buffer f64[4], lb: f64, iters: i64, converged: i64, failed: f64) of record {\n"
      "  store result[0:i64] = lb\n"
      "  store result[1:i64] = f64(iters)\n"
      "  store result[2:i64] = f64(converged)\n"
      "  store result[3:i64] = failed\n"
      "}\n"
      "func scale_value(v: buffer f64[1], factor: f64) of scale {\n"
      "  store v[0:i64] = (v[0:i64] * factor)\n"
      "}\n";
  const std::string program =
      "program(X: buffer " + t + "[n, d], shift: buffer f64[d], weights: buffer f64[m], means: buffer f64[m, d], "
      "covars: buffer f64[m, d, d], pchol: buffer f64[m, d, d], W: buffer " + t + "[kp, mp], S: buffer f64[kp, mp], "
      "logprob: buffer " + t + "[n], resp: buffer " + t + "[n, m], bounds: buffer f64[b], result: buffer f64[4], final: buffer f64[1], n: i64, "
      "d: i64, m: i64, kp: i64, mp: i64, b: i64, ctype: i64, tol: f64, reg: f64, min_iter: i64, max_iter: i64, "
      "original: i64, prev: f64, have_prev: i64, init: i64, fused: i64, mpi_comm: i64, total_n: i64) "
      "tune(m, d, ctype, i64(floor(((log(f64(n)) / 2.302585092994046:f64) + 1e-9:f64)))) {\n"
      "  temp ll: buffer f64[1]\n"
      "  temp info: buffer f64[1]\n"
      "  temp partial_s: buffer f64[" + groups + ", kp, mp]\n"
      "  temp partial_ll: buffer f64[" + groups + "]\n"
      "  temp work: buffer f64[8, m, d, d]\n"
      "  var lb: f64 = prev\n"
      "  var iters: i64 = 0:i64\n"
      "  var converged: i64 = 0:i64\n"
      "  let share: f64 = (f64(n) / f64(total_n))\n"
      "  if (init != 0:i64) {\n"
      "    launch mstep_stats_" + t + "(X, shift, resp, S, n, d, m, kp, mp, ctype)\n"
      "    if (mpi_comm >= 0:i64) {\n"
      "      comm allreduce_sum(mpi_comm, S)\n"
      "    }\n"
      "    launch update_" + t + "(S, shift, weights, means, covars, pchol, W, info, n, d, m, kp, mp, ctype, reg, original, work)\n"
      "  } else {\n"
      "    launch coefficients_" + t + "(weights, means, pchol, shift, W, d, m, kp, mp, ctype, work)\n"
      "  }\n"
      "  for it in 0:i64 .. max_iter {\n"
      "    if (info[0:i64] != 0:f64) {\n"
      "      break\n"
      "    }\n"
      "    if (fused != 0:i64) {\n"
      "      launch em_pass_" + t + "(X, shift, W, S, ll, n, d, m, kp, mp, ctype, logprob, resp, partial_s, partial_ll)\n"
      "      launch em_reduce_" + t + "(partial_s, partial_ll, S, ll, n, kp, mp)\n"
      "    } else {\n"
      "      launch clear_stats(S, ll, kp, mp)\n"
      "      launch estep_" + t + "(X, shift, W, logprob, resp, ll, n, d, m, kp, mp, ctype)\n"
      "      launch mstep_stats_" + t + "(X, shift, resp, S, n, d, m, kp, mp, ctype)\n"
      "    }\n"
      "    if (mpi_comm >= 0:i64) {\n"
      "      launch scale(ll, share)\n"
      "      comm allreduce_sum(mpi_comm, S, ll)\n"
      "    }\n"
      "    let change: f64 = abs((ll[0:i64] - lb))\n"
      "    lb = ll[0:i64]\n"
      "    iters = (it + 1:i64)\n"
      "    launch record_bound(bounds, b, it, lb)\n"
      "    launch update_" + t + "(S, shift, weights, means, covars, pchol, W, info, n, d, m, kp, mp, ctype, reg, original, work)\n"
      "    if (info[0:i64] != 0:f64) {\n"
      "      break\n"
      "    }\n"
      "    if ((((it > 0:i64) || (have_prev != 0:i64)) && (iters >= min_iter)) && ((change < tol) || ((original != 0:i64) && (change == tol)))) {\n"
      "      converged = 1:i64\n"
      "      break\n"
      "    }\n"
      "  }\n"
      "  let failed: f64 = info[0:i64]\n"
      "  launch record(result, lb, iters, converged, failed)\n"
      "  if ((init == 0:i64) || (max_iter > 0:i64)) {\n"  // an initialisation alone keeps no per-event results
      "    launch estep_" + t + "(X, shift, W, logprob, resp, final, n, d, m, kp, mp, ctype)\n"
      "  }\n"
      "}\n";
  return "asp-ir 2 psir\n" + kernels + record + program;
}

class GmmLowering : public asp::Lowering {
 public:
  std::string lower(asp::Call&, std::string_view dsir) override {
    const auto body = dsir.substr(dsir.find('\n') + 1);
    if (body.starts_with("gmm f64")) return program_for("f64");
    if (body.starts_with("gmm f32")) return program_for("f32");
    throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "not gmm DSIR: " + std::string(body.substr(0, 40)));
  }
};

// A CPU kernel source (language "c": OpenMP on the openmp backend, the
// thread pool on pthreads) for kernel `kernel`_`type`.
std::string prelude(const std::string& type) {
  return "#define REAL " + std::string(type == "f64" ? "double" : "float") + "\n#define REAL_IS_DOUBLE " +
         (type == "f64" ? "1" : "0") + "\n#define ASP_GMM_OUT_OF_MEMORY " + std::to_string(gmm::out_of_memory_status) +
         "\n#define ASP_GMM_BAD_LAYOUT " + std::to_string(gmm::bad_layout_status) + "\n";
}

asp::KernelSource cpu_source(const std::string& kernel, const std::string& type, const char* body, bool blocked) {
  std::string source = prelude(type) + gmm::cpu_kernel + gmm::cpu_common + gmm::params_common + (kernel == "update" ? gmm::update_common : "") +
                       (blocked ? gmm::em_common : "") + body;
  asp::KernelSource k{.kernel = kernel + "_" + type, .variant = kernel + "_cpu_" + type, .language = "c",
                      .source = std::move(source)};
  // MR accumulator columns, NB events per block: the tuner times each pair.
  if (blocked) k.template_params = {{"MR", {8, 16}}, {"NB", {64, 256}}};
  return k;
}

// An OpenCL C kernel source (language "opencl-c", the opencl backend) for
// kernel `kernel`_`type`, launched on `grid` work-groups of `block` work-items.
asp::KernelSource opencl_source(const std::string& kernel, const std::string& type, const char* body, std::string grid,
                                std::string block) {
  std::string source = prelude(type) + "#define GMM_GROUPS " + std::to_string(opencl_groups) + "\n#define GMM_BLOCK " +
                       std::to_string(opencl_block) + "\n" + gmm::opencl_common + gmm::params_common +
                       (kernel == "update" ? gmm::update_common : "") +
                       (kernel == "update" || kernel == "coefficients" ? "" : gmm::em_device) + body;
  return {.kernel = kernel + "_" + type, .variant = kernel + "_cl_" + type, .language = "opencl-c",
          .source = std::move(source), .grid = std::move(grid), .block = std::move(block)};
}

// A CUDA kernel source (language "cuda-c", the cuda backend, compiled by
// NVRTC) for kernel `kernel`_`type`: variant `variant`, launched on `grid`
// blocks of `block` threads. Run checks keep within what every CUDA device
// since compute capability 2.0 has: 1024 threads and 48 KiB of static shared
// memory per block.
asp::KernelSource cuda_source(const std::string& kernel, const std::string& variant, const std::string& type,
                              const char* body, std::string grid, std::string block, std::string requires_ = {},
                              std::vector<asp::KernelSource::TemplateParam> template_params = {}) {
  std::string source = prelude(type) + "#define GMM_GROUPS " + std::to_string(opencl_groups) + "\n" + gmm::cuda_common_cu +
                       gmm::params_common + (kernel == "update" ? gmm::update_common : "") + gmm::em_device +
                       gmm::em_cuda_cu + body;
  return {.kernel = kernel + "_" + type, .variant = variant + "_cu_" + type, .language = "cuda-c",
          .source = std::move(source), .requires_ = std::move(requires_), .template_params = std::move(template_params),
          .grid = std::move(grid), .block = std::move(block)};
}

const std::string one = "1:i64";
const std::string block = std::to_string(opencl_block) + ":i64";
const std::string groups = std::to_string(opencl_groups) + ":i64";
// A work-item per entry of S.
const std::string entries = "(((kp * mp) + " + std::to_string(opencl_block - 1) + ":i64) / " + block + ")";
const std::string cuda_block = "256:i64";
const std::string cuda_entries = "(((kp * mp) + 255:i64) / 256:i64)";
const std::vector<asp::KernelSource::TemplateParam> threads = {{"TPB", {128, 256}}};
const std::string per_event = "(((n + TPB) - 1:i64) / TPB)";
const std::string few_statistics = "(kp <= 1024:i64)";

}  // namespace

ASP_PLUGIN("gmm", "0.1.0", "Gaussian mixture models: EM training as a program of hand-written kernels",
           asp::frontend<GmmFrontend>("gmm.frontend", "gmm"),
           asp::lowering<GmmLowering>("gmm.lowering", "gmm", dialect),
           asp::kernel_source("gmm.em_pass_f64", "gmm", cpu_source("em_pass", "f64", gmm::em_pass, true)),
           asp::kernel_source("gmm.em_pass_f32", "gmm", cpu_source("em_pass", "f32", gmm::em_pass, true)),
           asp::kernel_source("gmm.estep_f64", "gmm", cpu_source("estep", "f64", gmm::estep, true)),
           asp::kernel_source("gmm.estep_f32", "gmm", cpu_source("estep", "f32", gmm::estep, true)),
           asp::kernel_source("gmm.update_f64", "gmm", cpu_source("update", "f64", gmm::update, false)),
           asp::kernel_source("gmm.update_f32", "gmm", cpu_source("update", "f32", gmm::update, false)),
           asp::kernel_source("gmm.mstep_stats_f64", "gmm", cpu_source("mstep_stats", "f64", gmm::mstep_stats, true)),
           asp::kernel_source("gmm.mstep_stats_f32", "gmm", cpu_source("mstep_stats", "f32", gmm::mstep_stats, true)),
           asp::kernel_source("gmm.coefficients_f64", "gmm", cpu_source("coefficients", "f64", gmm::coefficients, false)),
           asp::kernel_source("gmm.coefficients_f32", "gmm", cpu_source("coefficients", "f32", gmm::coefficients, false)),
           asp::kernel_source("gmm.em_reduce_f64", "gmm", cpu_source("em_reduce", "f64", gmm::em_reduce, false)),
           asp::kernel_source("gmm.em_reduce_f32", "gmm", cpu_source("em_reduce", "f32", gmm::em_reduce, false)),
           asp::kernel_source("gmm.em_pass_cl_f64", "gmm", opencl_source("em_pass", "f64", gmm::em_pass_cl, groups, block)),
           asp::kernel_source("gmm.em_pass_cl_f32", "gmm", opencl_source("em_pass", "f32", gmm::em_pass_cl, groups, block)),
           asp::kernel_source("gmm.em_reduce_cl_f64", "gmm", opencl_source("em_reduce", "f64", gmm::em_reduce_cl, entries, block)),
           asp::kernel_source("gmm.em_reduce_cl_f32", "gmm", opencl_source("em_reduce", "f32", gmm::em_reduce_cl, entries, block)),
           asp::kernel_source("gmm.estep_cl_f64", "gmm", opencl_source("estep", "f64", gmm::estep_cl, one, block)),
           asp::kernel_source("gmm.estep_cl_f32", "gmm", opencl_source("estep", "f32", gmm::estep_cl, one, block)),
           asp::kernel_source("gmm.update_cl_f64", "gmm", opencl_source("update", "f64", gmm::update_cl, one, one)),
           asp::kernel_source("gmm.update_cl_f32", "gmm", opencl_source("update", "f32", gmm::update_cl, one, one)),
           asp::kernel_source("gmm.coefficients_cl_f64", "gmm", opencl_source("coefficients", "f64", gmm::coefficients_cl, one, one)),
           asp::kernel_source("gmm.coefficients_cl_f32", "gmm", opencl_source("coefficients", "f32", gmm::coefficients_cl, one, one)),
           asp::kernel_source("gmm.mstep_stats_cl_f64", "gmm", opencl_source("mstep_stats", "f64", gmm::mstep_stats_cl, entries, block)),
           asp::kernel_source("gmm.mstep_stats_cl_f32", "gmm", opencl_source("mstep_stats", "f32", gmm::mstep_stats_cl, entries, block)),
           asp::kernel_source("gmm.coefficients_cu_f64", "gmm", cuda_source("coefficients", "coefficients", "f64", gmm::coefficients_cu, one, one)),
           asp::kernel_source("gmm.update_cu_f64", "gmm", cuda_source("update", "update", "f64", gmm::update_cu, one, one)),
           asp::kernel_source("gmm.em_pass_cu_f64", "gmm", cuda_source("em_pass", "em_pass", "f64", gmm::em_pass_cu, groups, cuda_block, "(m <= 96:i64)")),
           asp::kernel_source("gmm.em_reduce_cu_f64", "gmm", cuda_source("em_reduce", "em_reduce", "f64", gmm::em_reduce_cu, cuda_entries, cuda_block)),
           asp::kernel_source("gmm.estep_cu_f64", "gmm", cuda_source("estep", "estep", "f64", gmm::estep_cu, per_event, "TPB", {}, threads)),
           asp::kernel_source("gmm.mstep_v1_cu_f64", "gmm", cuda_source("mstep_stats", "mstep_v1", "f64", gmm::mstep_v1_cu, "m, kp", "TPB", {}, threads)),
           asp::kernel_source("gmm.mstep_v2a_cu_f64", "gmm", cuda_source("mstep_stats", "mstep_v2a", "f64", gmm::mstep_v2a_cu, "m", "kp", few_statistics)),
           asp::kernel_source("gmm.mstep_v2b_cu_f64", "gmm", cuda_source("mstep_stats", "mstep_v2b", "f64", gmm::mstep_v2b_cu, "m, EB", "kp", few_statistics, {{"EB", {32, 128, 256}}})),
           asp::kernel_source("gmm.mstep_v3_cu_f64", "gmm", cuda_source("mstep_stats", "mstep_v3", "f64", gmm::mstep_v3_cu, "kp", "64:i64", "(m <= 80:i64)")),
           asp::kernel_source("gmm.coefficients_cu_f32", "gmm", cuda_source("coefficients", "coefficients", "f32", gmm::coefficients_cu, one, one)),
           asp::kernel_source("gmm.update_cu_f32", "gmm", cuda_source("update", "update", "f32", gmm::update_cu, one, one)),
           asp::kernel_source("gmm.em_pass_cu_f32", "gmm", cuda_source("em_pass", "em_pass", "f32", gmm::em_pass_cu, groups, cuda_block, "(m <= 96:i64)")),
           asp::kernel_source("gmm.em_reduce_cu_f32", "gmm", cuda_source("em_reduce", "em_reduce", "f32", gmm::em_reduce_cu, cuda_entries, cuda_block)),
           asp::kernel_source("gmm.estep_cu_f32", "gmm", cuda_source("estep", "estep", "f32", gmm::estep_cu, per_event, "TPB", {}, threads)),
           asp::kernel_source("gmm.mstep_v1_cu_f32", "gmm", cuda_source("mstep_stats", "mstep_v1", "f32", gmm::mstep_v1_cu, "m, kp", "TPB", {}, threads)),
           asp::kernel_source("gmm.mstep_v2a_cu_f32", "gmm", cuda_source("mstep_stats", "mstep_v2a", "f32", gmm::mstep_v2a_cu, "m", "kp", few_statistics)),
           asp::kernel_source("gmm.mstep_v2b_cu_f32", "gmm", cuda_source("mstep_stats", "mstep_v2b", "f32", gmm::mstep_v2b_cu, "m, EB", "kp", few_statistics, {{"EB", {32, 128, 256}}})),
           asp::kernel_source("gmm.mstep_v3_cu_f32", "gmm", cuda_source("mstep_stats", "mstep_v3", "f32", gmm::mstep_v3_cu, "kp", "64:i64", "(m <= 80:i64)")))
