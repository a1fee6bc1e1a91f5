// The matrix-powers specializer (README.md, "The matrix-powers specializer"): the PA1 matrix
// powers kernel and SpMV of a CSR matrix as programs of hand-written kernels
// (DESIGN.md §12). asp.akx builds the plan (the chunks and stanzas of
// powers.c) from the matrix; the frontend checks the arguments it passes;
// the lowering writes the program for the element type and column encoding.
#define ASP_PLUGIN_MIN_ABI_MINOR 2
#include <asp/plugin.hpp>
#include <asp/tree.hpp>

#include "akx_sources.hpp"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace {

const char* const dialect = "dsir.akx";

// Work-items per work-group (OpenCL) and threads per block (CUDA).
constexpr int device_block = 64;

[[noreturn]] void fail(const std::string& message) { throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message); }

bool has_type(const asp_arg& a, std::uint8_t code, int bits) {
  return a.kind == ASP_ARG_TENSOR && a.tensor.dtype.code == code && a.tensor.dtype.bits == bits &&
         a.tensor.dtype.lanes == 1;
}

// The programs asp.akx specializes, by the name of the Python function that
// stands for each: the CSR forms (columns i32 indices or d16 offsets, told
// apart by the type of cols), the diagonal form and its symmetric form
// (akx_dia.h: the same arrays, upper diagonals only).
struct Operation {
  const char* function;
  const char* kind;  // "spmv", "powers" or "cg"
  const char* form;  // "dia", "sdia", or nullptr: a CSR form, from the type of cols
  std::vector<const char*> params;
  std::size_t arrays;  // params[0 .. arrays) are arrays, the rest numbers
  std::vector<std::size_t> vectors;  // the arrays of the data's type besides data
};

const std::vector<const char*> dia_spmv = {"offsets", "data", "rows", "x", "y", "n", "nd", "cp1"};
const std::vector<const char*> dia_powers = {"offsets", "data", "stanzas", "plan", "vecs", "coef", "n",
                                             "nd",      "s",    "cp1",     "mp1",  "m",    "k", "fingerprint"};
const std::vector<const char*> dia_cg = {"offsets", "data", "rows", "b", "x", "r", "p", "q",
                                         "d", "state", "part", "n", "nd", "cp1", "maxiter", "tol"};

const Operation operations[] = {
    {"_spmv_program", "spmv", nullptr, {"indptr", "cols", "data", "rows", "x", "y", "n", "np1", "nnz", "cp1"}, 6, {4, 5}},
    {"_powers_program", "powers", nullptr,
     {"indptr", "cols", "data", "stanzas", "plan", "vecs", "coef", "n", "np1", "nnz", "s", "cp1", "mp1", "m", "k",
      "fingerprint"},
     7, {5}},
    {"_cg_program", "cg", nullptr,
     {"indptr", "cols", "data", "rows", "b", "x", "r", "p", "q", "d", "state", "part", "n", "np1", "nnz", "cp1",
      "maxiter", "tol"},
     12, {4, 5, 6, 7, 8, 9}},
    {"_dia_spmv_program", "spmv", "dia", dia_spmv, 5, {3, 4}},
    {"_dia_powers_program", "powers", "dia", dia_powers, 6, {4}},
    {"_dia_cg_program", "cg", "dia", dia_cg, 11, {3, 4, 5, 6, 7, 8}},
    {"_sdia_spmv_program", "spmv", "sdia", dia_spmv, 5, {3, 4}},
    {"_sdia_powers_program", "powers", "sdia", dia_powers, 6, {4}},
    {"_sdia_cg_program", "cg", "sdia", dia_cg, 11, {3, 4, 5, 6, 7, 8}},
};

// The matrix's forms with kernels: CSR with int32 column indices or int16
// offsets from the row (akx_cpu.h), the diagonal form and its symmetric form
// (akx_dia.h), and register tiles r x c (akx_bcsr.h, SciPy's BSR).
const char* const forms[] = {"i32", "d16", "dia", "sdia", "b2x2", "b3x3", "b4x4"};

// The rows and columns of a register-tiled form's tiles ("b3x3": "3", "3").
std::pair<std::string, std::string> tile_shape(const std::string& form) {
  const auto x = form.find('x');
  return {form.substr(1, x - 1), form.substr(x + 1)};
}

// Whether a form is one of the diagonal forms (offsets and data (nd, n)).
bool diagonal(std::string_view form) { return form == "dia" || form == "sdia"; }

std::string function_name(std::string_view tree_text) {
  const asp::tree::Value root = asp::tree::parse(tree_text);
  const asp::tree::Node* s = root.node();
  const asp::tree::Value* f = s ? s->field("function") : nullptr;
  const asp::tree::Value* name = f && f->node() ? f->node()->field("name") : nullptr;
  if (!name || !name->string()) fail("not an asp.akx program");
  return *name->string();
}

// "f64 i32": the element type and the matrix's form (i32 column indices, d16
// int16 offsets from the row (akx_cpu.h), dia or sdia).
std::string types_of(const Operation& op, std::span<const asp_arg> args) {
  if (args.size() != op.params.size()) {
    fail(std::string("the akx program ") + op.function + " takes " + std::to_string(op.params.size()) +
         " arguments (asp.akx passes them), not " + std::to_string(args.size()));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].name && std::string_view(args[i].name) != op.params[i]) {
      fail(std::string("argument ") + std::to_string(i) + " must be " + op.params[i] + ", not " + args[i].name);
    }
    const bool array = i < op.arrays;
    if (array && args[i].kind != ASP_ARG_TENSOR) fail(std::string(op.params[i]) + " must be an array");
    if (!array && args[i].kind != ASP_ARG_SCALAR) fail(std::string(op.params[i]) + " must be a number");
  }
  const asp_arg& data = args[op.form ? 1 : 2];
  const int bits = has_type(data, kDLFloat, 64) ? 64 : has_type(data, kDLFloat, 32) ? 32 : 0;
  // A CSR program's data of shape (tiles, r, c) is the register-tiled form br x c.
  const bool tiled = !op.form && data.tensor.ndim == 3;
  if (!bits || (data.tensor.ndim != (op.form ? 2 : 1) && !tiled)) {
    fail(op.form ? "data must be a float32 or float64 (diagonals, n) array"
                 : "data must be a float32 or float64 vector, or (tiles, r, c) array");
  }
  std::string form = op.form ? op.form : "";
  if (tiled) {
    form = "b" + std::to_string(data.tensor.shape[1]) + "x" + std::to_string(data.tensor.shape[2]);
    if (std::find(std::begin(forms), std::end(forms), form) == std::end(forms)) {
      fail("no kernels for tiles of " + std::to_string(data.tensor.shape[1]) + " x " + std::to_string(data.tensor.shape[2]));
    }
    if (!has_type(args[1], kDLInt, 32) || args[1].tensor.ndim != 1) fail("cols must be an int32 vector of block columns");
  } else if (form.empty()) {
    form = has_type(args[1], kDLInt, 32) ? "i32" : has_type(args[1], kDLInt, 16) ? "d16" : "";
    if (form.empty() || args[1].tensor.ndim != 1) fail("cols must be an int32 (indices) or int16 (offsets) vector");
  }
  for (std::size_t i = 0; i < op.arrays; ++i) {
    if (&args[i] == &data) continue;
    const bool of_data = std::find(op.vectors.begin(), op.vectors.end(), i) != op.vectors.end();
    if (of_data && !has_type(args[i], kDLFloat, bits)) fail(std::string(op.params[i]) + " must have the type of data");
    const std::string_view name = op.params[i];
    if (name == "state" || name == "part") {
      if (!has_type(args[i], kDLFloat, 64) || args[i].tensor.ndim != (name == "part" ? 2 : 1)) {
        fail(std::string(name) + (name == "part" ? " must be a float64 (2, cp1) array" : " must be a float64 vector"));
      }
    } else if (!of_data && name != "cols" && name != "coef" && !has_type(args[i], kDLInt, 64)) {
      fail(std::string(op.params[i]) + " must be an int64 array");
    }
  }
  return (bits == 64 ? "f64 " : "f32 ") + form;
}

class AkxFrontend : public asp::Frontend {
 public:
  std::string translate(asp::Call&, std::string_view tree, std::span<const asp_arg> args) override {
    const std::string name = function_name(tree);
    for (const Operation& op : operations) {
      if (name == op.function) return asp::ir::header_line(1, dialect) + op.kind + " " + types_of(op, args) + "\n";
    }
    fail("not an asp.akx program: " + name);
  }
};

// The arrays of the matrix, as PSIR parameters, for element type t and form.
std::string matrix_params(const std::string& t, const std::string& form) {
  if (diagonal(form)) return "offsets: buffer i64[nd], data: buffer " + t + "[nd, n]";
  if (form[0] == 'b') {  // tiles: nnz of them, each r x c
    const auto [r, c] = tile_shape(form);
    return "indptr: buffer i64[np1], cols: buffer i32[nnz], data: buffer " + t + "[nnz, " + r + ", " + c + "]";
  }
  return "indptr: buffer i64[np1], cols: buffer " + std::string(form == "d16" ? "i16" : "i32") +
         "[nnz], data: buffer " + t + "[nnz]";
}
std::string matrix_sizes(const std::string& form) { return diagonal(form) ? "nd: i64" : "np1: i64, nnz: i64"; }
std::string matrix_args(const std::string& form) { return diagonal(form) ? "offsets, data" : "indptr, cols, data"; }
std::string size_args(const std::string& form) { return diagonal(form) ? "nd" : "np1, nnz"; }

// The tuning key of both programs: the fingerprint of the matrix's structure
// (n, nnz and a hash of its pattern, computed by asp.akx) and, for powers,
// the levels per pass: a choice holds for this matrix in later processes.
std::string spmv_program(const std::string& t, const std::string& form) {
  const std::string kernel = "spmv_" + t + "_" + form;
  const std::string params = matrix_params(t, form) + ", rows: buffer i64[cp1], x: buffer " + t + "[n], y: buffer " + t + "[n]";
  const std::string sizes = "n: i64, " + matrix_sizes(form) + ", cp1: i64";
  return "asp-ir 2 psir\n"
         "kernel " + kernel + "(" + params + ", " + sizes + ") writes(y)\n"
         "program(" + params + ", " + sizes + ") tune(n, " + (diagonal(form) ? "nd" : "nnz") + ") {\n"
         "  launch " + kernel + "(" + matrix_args(form) + ", rows, x, y, n, " + size_args(form) + ", cp1)\n"
         "}\n";
}

// Passes of k levels (the last one shorter when k does not divide m), each a
// launch: the only synchronisation of PA1 is between passes.
std::string powers_program(const std::string& t, const std::string& form) {
  const std::string kernel = "powers_" + t + "_" + form;
  const std::string params = matrix_params(t, form) + ", stanzas: buffer i64[s, 3], plan: buffer i64[2, cp1], vecs: buffer " +
                             t + "[mp1, n], coef: buffer f64[m, 3]";
  const std::string sizes = "n: i64, " + matrix_sizes(form) + ", s: i64, cp1: i64, mp1: i64, m: i64";
  return "asp-ir 2 psir\n"
         "kernel " + kernel + "(" + params + ", " + sizes + ", start: i64, steps: i64, tail: i64) writes(vecs)\n"
         "program(" + params + ", " + sizes + ", k: i64, fingerprint: i64) tune(fingerprint, k) {\n"
         "  for p in 0:i64 .. (((m + k) - 1:i64) / k) {\n"
         "    let start: i64 = (p * k)\n"
         "    let steps: i64 = min(k, (m - start))\n"
         "    let tail: i64 = select((steps != k), 1:i64, 0:i64)\n"
         "    launch " + kernel + "(" + matrix_args(form) + ", stanzas, plan, vecs, coef, n, " + size_args(form) +
         ", s, cp1, mp1, m, start, steps, tail)\n"
         "  }\n"
         "}\n";
}

// CG (cg.c), unpreconditioned or with the diagonal preconditioner d (when
// state says so): SciPy's loop, natively. Each call first sets
// r = b - A x (the true residual), then takes at most maxiter steps, each
// after the test of SciPy's loop (stop when ||r|| < tol, or r is exactly
// 0), and stops early at a breakdown (p.Ap zero, or a step length not
// finite). The state (cg.c) carries the direction and the counts from one
// call to the next, so asp.akx checks the true residual when the recursive
// one has converged and goes on where the loop stopped.
std::string cg_program(const std::string& t, const std::string& form) {
  const std::string params = matrix_params(t, form) + ", rows: buffer i64[cp1], b: buffer " + t + "[n], x: buffer " + t +
                             "[n], r: buffer " + t + "[n], p: buffer " + t + "[n], q: buffer " + t + "[n], d: buffer " + t +
                             "[n], state: buffer f64[9], part: buffer f64[2, cp1]";
  const std::string sizes = "n: i64, " + matrix_sizes(form) + ", cp1: i64";
  const std::string args = matrix_args(form) + ", rows, b, x, r, p, q, d, state, part, n, " + size_args(form) + ", cp1";
  std::string kernels, launch;
  for (const char* step : {"init", "direction", "spmv_dot", "update"}) {
    const std::string kernel = std::string("cg_") + step + "_" + t + "_" + form;
    const std::string writes = std::string(step) == "init"        ? "r, state, part"
                               : std::string(step) == "direction" ? "p, state, part"
                               : std::string(step) == "spmv_dot"  ? "q, state, part"
                                                                   : "x, r, state, part";
    kernels += "kernel " + kernel + "(" + params + ", " + sizes + ") writes(" + writes + ")\n";
  }
  auto call = [&](const char* step) { return std::string("launch cg_") + step + "_" + t + "_" + form + "(" + args + ")\n"; };
  return "asp-ir 2 psir\n" + kernels + "program(" + params + ", " + sizes + ", maxiter: i64, tol: f64) tune(n, " +
         (diagonal(form) ? "nd" : "nnz") + ") {\n"
         "  " + call("init") +
         "  for it in 0:i64 .. maxiter {\n"
         "    if ((state[1:i64] < tol) || (state[1:i64] == 0:f64)) {\n"
         "      break\n"
         "    }\n"
         "    " + call("direction") +
         "    " + call("spmv_dot") +
         "    if (state[4:i64] != 0:f64) {\n"
         "      break\n"
         "    }\n"
         "    " + call("update") +
         "  }\n"
         "}\n";
}

class AkxLowering : public asp::Lowering {
 public:
  std::string lower(asp::Call&, std::string_view dsir) override {
    const std::string body(dsir.substr(dsir.find('\n') + 1));
    for (const char* t : {"f64", "f32"}) {
      for (const char* form : forms) {
        if (body == std::string("spmv ") + t + " " + form + "\n") return spmv_program(t, form);
        if (body == std::string("powers ") + t + " " + form + "\n") return powers_program(t, form);
        if (body == std::string("cg ") + t + " " + form + "\n") return cg_program(t, form);
      }
    }
    throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "not akx DSIR: " + body.substr(0, 40));
  }
};

std::string prelude(const std::string& t, const std::string& columns) {
  std::string tile;
  if (columns[0] == 'b') {
    const auto [r, c] = tile_shape(columns);
    tile = "#define BR " + r + "\n#define BC " + c + "\n";
  }
  return "#define REAL " + std::string(t == "f64" ? "double" : "float") + "\n#define REAL_IS_DOUBLE " +
         (t == "f64" ? "1" : "0") + "\n#define COLUMNS " +
         (columns[0] == 'b' ? "4" : columns == "sdia" ? "3" : columns == "dia" ? "2" : columns == "d16" ? "1" : "0") + "\n" + tile;
}

std::vector<asp::ComponentSpec> components() {
  // The components keep pointers to their names: these live as long as the plugin.
  static std::deque<std::string> names;
  std::vector<asp::ComponentSpec> c;
  c.push_back(asp::frontend<AkxFrontend>("akx.frontend", "akx"));
  c.push_back(asp::lowering<AkxLowering>("akx.lowering", "akx", dialect));
  const std::string block = std::to_string(device_block) + ":i64";
  const std::string per_row = "((n + " + std::to_string(device_block - 1) + ":i64) / " + block + ")";
  const std::string per_chunk = "(cp1 - 1:i64)";
  for (const std::string t : {"f64", "f32"}) {
    for (const std::string columns : forms) {
      const std::string suffix = t + "_" + columns, head = prelude(t, columns);
      const bool dia = diagonal(columns);
      auto add = [&](const std::string& kernel, const std::string& language, const std::string& tag,
                     std::string source, std::string grid = {}, std::string threads = {}) {
        asp::KernelSource k{.kernel = kernel + "_" + suffix, .variant = kernel + tag + suffix, .language = language,
                            .source = std::move(source), .grid = std::move(grid), .block = std::move(threads)};
        c.push_back(asp::kernel_source(names.emplace_back("akx." + kernel + tag + suffix).c_str(), "akx", std::move(k)));
      };
      const std::string cpu = head + akx::cpu_kernel + (dia ? akx::akx_dia : columns[0] == 'b' ? akx::akx_bcsr : akx::akx_cpu);
      add("spmv", "c", "_cpu_", cpu + akx::spmv);
      add("powers", "c", "_cpu_", cpu + akx::powers);
      // The CG kernels have no device versions: asp.akx runs its s-step CG on a device backend.
      const char* const cg_steps[] = {"cg_init", "cg_direction", "cg_spmv_dot", "cg_update"};
      for (int step = 0; step < 4; ++step) {
        add(cg_steps[step], "c", "_cpu_", cpu + "#define CG_KERNEL " + std::to_string(step) + "\n" + akx::cg);
      }
      const std::string cl = head + akx::opencl_common + akx::akx_device;
      add("spmv", "opencl-c", "_cl_", cl + akx::spmv_cl, per_row, block);
      add("powers", "opencl-c", "_cl_", cl + akx::powers_cl, per_chunk, block);
      const std::string cu = head + akx::cuda_common_cu + akx::akx_device;
      add("spmv", "cuda-c", "_cu_", cu + akx::spmv_cu, per_row, block);
      add("powers", "cuda-c", "_cu_", cu + akx::powers_cu, per_chunk, block);
    }
  }
  return c;
}

}  // namespace

ASP_PLUGIN_COMPONENTS("akx", "0.1.0", "Sparse matrix powers (PA1) and SpMV as programs of hand-written kernels",
                      components)
