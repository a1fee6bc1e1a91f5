#include "c_family_codegen.hpp"

#include "c_codegen.hpp"

#include <asp/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace asp::backends {

using namespace asp::psir;

const char* c_type(Type t) {
  switch (t) {
    case Type::f32: return "float";
    case Type::f64: return "double";
    case Type::i8: return "asp_i8";
    case Type::i16: return "asp_i16";
    case Type::i32: return "asp_i32";
    case Type::i64: return "asp_i64";
    case Type::u8: return "asp_u8";
    case Type::u16: return "asp_u16";
    case Type::u32: return "asp_u32";
    case Type::u64: return "asp_u64";
    case Type::boolean: return "asp_bool";
  }
  return "void";
}

namespace {

std::string format_double(double d, Type t, const Dialect& dialect) {
  if (std::isnan(d)) return dialect.special_float(true, t);
  if (std::isinf(d)) {
    const std::string inf = dialect.special_float(false, t);
    return d < 0 ? "(-" + inf + ")" : inf;
  }
  char buffer[48];
  // Hexadecimal floating point is exact, and every compiler here reads it.
  std::snprintf(buffer, sizeof buffer, "%a", d);
  return std::string(buffer) + (t == Type::f32 ? "f" : "");
}

// ---- shared by every dialect ------------------------------------------------------------

// Every PSIR name is emitted with a trailing '_': no user name can then be a
// keyword, a builtin, or one of the generated code's own names (which never end in '_').
std::string cname(const std::string& name) { return name + "_"; }

// Types narrower than int are promoted by C arithmetic; their results are cast back so they wrap like PSIR says.
bool narrow(Type t) { return t == Type::i8 || t == Type::i16 || t == Type::u8 || t == Type::u16; }

// Per-type helper functions, emitted once each and only when used.
class Helpers {
 public:
  explicit Helpers(const Dialect& dialect) : dialect_(dialect) {}

  std::string use(const std::string& name, Type t) {
    const std::string fn = "asp_" + name + "_" + type_name(t);
    if (emitted_.insert(fn).second) define(name, t, fn);
    return fn;
  }
  const std::string& text() const { return text_; }

 private:
  void define(const std::string& name, Type t, const std::string& fn) {
    const std::string T = c_type(t);
    const std::string fun = dialect_.local_function(), status = dialect_.status_type();
    auto m = [&](const char* f) { return dialect_.math(f, t); };
    const std::string zero = dialect_.copysign_zero(T);
    std::ostringstream o;
    const std::string f = t == Type::f32 ? "f" : "";
    if (name == "min") {
      // Python's min(a, b): b only when strictly smaller (NaN and -0.0 behave as in Python).
      o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b) { return b < a ? b : a; }\n";
    } else if (name == "max") {
      o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b) { return b > a ? b : a; }\n";
    } else if (name == "abs") {
      if (is_float(t)) {
        o << fun << " " << T << " " << fn << "(" << T << " a) { return " << m("fabs") << "(a); }\n";
      } else {
        o << fun << " " << T << " " << fn << "(" << T << " a) { return a < 0 ? (" << T << ")-a : a; }\n";
      }
    } else if (name == "floordiv" || name == "mod") {
      if (is_float(t)) {
        // Python's float floor division and modulo (Objects/floatobject.c semantics).
        o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b, " << status << " status) {\n"
          << "  if (b == 0) { asp_fail(status, " << ASP_C_ZERO_DIVISION << "); return 0; }\n"
          << "  " << T << " m = " << m("fmod") << "(a, b);\n"
          << "  " << T << " d = (a - m) / b;\n"
          << "  if (m != 0) { if ((b < 0) != (m < 0)) { m += b; d -= 1; } } else { m = " << m("copysign") << "(" << zero << ", b); }\n";
        if (name == "mod") {
          o << "  (void)d;\n  return m;\n}\n";
        } else {
          o << "  " << T << " q;\n"
            << "  if (d != 0) { q = " << m("floor") << "(d); if (d - q > 0.5" << f << ") q += 1; }\n"
            << "  else { q = " << m("copysign") << "(" << zero << ", a / b); }\n"
            << "  return q;\n}\n";
        }
      } else {
        o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b, " << status << " status) {\n"
          << "  if (b == 0) { asp_fail(status, " << ASP_C_ZERO_DIVISION << "); return 0; }\n";
        if (is_signed(t)) o << "  if (b == -1) return " << (name == "mod" ? "0" : "(" + T + ")(0 - (asp_u64)a)") << ";\n";
        if (name == "floordiv") {
          o << "  " << T << " q = a / b;\n";
          if (is_signed(t)) o << "  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;\n";
          o << "  return q;\n}\n";
        } else {
          o << "  " << T << " r = a % b;\n";
          if (is_signed(t)) o << "  if (r != 0 && ((r < 0) != (b < 0))) r += b;\n";
          o << "  return r;\n}\n";
        }
      }
    } else if (name == "div") {
      // Division with a divisor not known to be non-zero: Python raises, C would trap or give inf.
      o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b, " << status << " status) {\n"
        << "  if (b == 0) { asp_fail(status, " << ASP_C_ZERO_DIVISION << "); return 0; }\n";
      if (is_signed(t)) o << "  if (b == -1) return (" << T << ")(0 - (asp_u64)a);\n";
      o << "  return (" << T << ")(a / b);\n}\n";
    } else if (name == "rem") {
      o << fun << " " << T << " " << fn << "(" << T << " a, " << T << " b, " << status << " status) {\n"
        << "  if (b == 0) { asp_fail(status, " << ASP_C_ZERO_DIVISION << "); return 0; }\n";
      if (is_signed(t)) o << "  if (b == -1) return 0;\n";
      o << "  return (" << T << ")(a % b);\n}\n";
    } else if (name.rfind("py_", 0) == 0) {
      python_checked(o, name.substr(3), t, fn);
    } else {
      throw std::logic_error("no helper " + name);
    }
    text_ += o.str();
  }

  // A math function or float-to-integer conversion that notes, in the flags
  // it is given, where Python would raise (Expr::raises). Branch-free: a
  // comparison OR-ed into a flag the caller tests once, after its loops, so
  // a vectorized loop stays vectorized.
  void python_checked(std::ostringstream& o, const std::string& what, Type t, const std::string& fn) {
    const std::string T = c_type(t), fun = dialect_.local_function();
    const std::string inf = dialect_.special_float(false, t);
    const std::string infinite = "((a == " + inf + ") | (a == -" + inf + "))";
    if (what.rfind("int_", 0) == 0) {
      // The largest magnitude seen, as the bits of a double without its sign: one
      // unsigned max per conversion, from which nan (above 0x7FF0...) and infinity
      // (0x7FF0... itself) are told apart once the loops are done. Two comparisons and
      // a select made the bilateral filter (342 int() a point) 1.9 times slower, the
      // bits shifted past the sign instead of masked 1.25 times; this costs nothing
      // measurable. The conversion is C's, as before: its value is not used when the call fails.
      const std::string to = c_type(*parse_type(what.substr(4)));
      const std::string wide = t == Type::f32 ? "(double)a" : "a";
      const std::string bits = dialect_.double_bits(wide);
      o << fun << " " << to << " " << fn << "(" << T << " a, asp_u64* worst) {\n"
        << "  const asp_u64 magnitude = " << bits << " & 0x7FFFFFFFFFFFFFFFULL;\n"
        << "  *worst = magnitude > *worst ? magnitude : *worst;\n"
        << "  return (" << to << ")a;\n}\n";
      return;
    }
    o << fun << " " << T << " " << fn << "(" << T << " a, int* fails) {\n";
    if (what == "exp") {
      // Overflow: a finite argument whose result is infinite (exp(inf) is inf in Python too).
      o << "  const " << T << " r = " << dialect_.math("exp", t) << "(a);\n"
        << "  *fails |= (r == " << inf << ") & (a != " << inf << ");\n  return r;\n}\n";
      return;
    }
    // Domain errors: sqrt of a negative number, log of one or of zero, sin, cos and tan of an infinity.
    const std::string fails = what == "sqrt" ? "a < 0" : what == "log" ? "a <= 0" : infinite;
    o << "  *fails |= " << fails << ";\n  return " << dialect_.math(what, t) << "(a);\n}\n";
  }

  const Dialect& dialect_;
  std::set<std::string> emitted_;
  std::string text_;
};

struct Symbol {
  Type type;
  enum class Kind { buffer, scalar, local, loop_var } kind;
  int gpu_depth = 0;  // how many GPU loops enclose its declaration
};

class FunctionEmitter : public asp::ir::Exhaustive {
 public:
  FunctionEmitter(const Function& f, const Dialect& dialect, Helpers& helpers, int& outlined_counter)
      : f_(f), dialect_(dialect), helpers_(helpers), outlined_counter_(outlined_counter) {}

  // C: the outlined chunk functions (pthreads), the body and the entry point. Device: the kernel.
  std::string emit() {
    scopes_.emplace_back();
    for (size_t k = 0; k < f_.params.size(); ++k) {
      const Param& p = f_.params[k];
      scopes_.back()[p.name] = {p.type, p.kind == Param::Kind::buffer ? Symbol::Kind::buffer : Symbol::Kind::scalar};
      buffer_index_[p.name] = static_cast<int>(k);
    }
    // One flag per call site's status; a conversion's two statuses share one, the largest magnitude it saw.
    auto visit = [&](const Expr& e) {
      const std::vector<int> codes = python_codes(e);
      if (codes.empty() || flags_.count(codes[0])) return;
      const std::string name = "asp_fe" + std::to_string(flag_names_.size());
      flag_names_.push_back(name);
      for (int c : codes) flags_.emplace(c, name);
      if (codes.size() == 2) conversion_flags_.insert(name);
    };
    for_each_expr(f_.body, visit);
    return dialect_.device() ? kernel() : c_function();
  }

  // ---- Python's errors (Expr::raises) ----

  // The ASP_C_PYTHON_ERROR statuses an expression may report, one flag each.
  static std::vector<int> python_codes(const Expr& e) {
    if (!e.raises || !may_raise(e)) return {};
    if (e.kind == Expr::Kind::call) {
      static const std::map<Intrinsic, std::pair<int, int>> ops = {
          {Intrinsic::sqrt, {ASP_C_MATH_DOMAIN, ASP_C_OP_SQRT}}, {Intrinsic::log, {ASP_C_MATH_DOMAIN, ASP_C_OP_LOG}},
          {Intrinsic::exp, {ASP_C_MATH_RANGE, ASP_C_OP_EXP}},    {Intrinsic::sin, {ASP_C_MATH_DOMAIN, ASP_C_OP_SIN}},
          {Intrinsic::cos, {ASP_C_MATH_DOMAIN, ASP_C_OP_COS}},   {Intrinsic::tan, {ASP_C_MATH_DOMAIN, ASP_C_OP_TAN}}};
      const auto [error, op] = ops.at(e.intrinsic);
      return {ASP_C_PYTHON_ERROR_STATUS(error, op, e.raises)};
    }
    // int(x), or math.floor / math.ceil, whose conversion to int is what raises.
    const Expr& a = *e.args[0];
    const int op = a.kind == Expr::Kind::call && a.intrinsic == Intrinsic::floor ? ASP_C_OP_FLOOR
                   : a.kind == Expr::Kind::call && a.intrinsic == Intrinsic::ceil ? ASP_C_OP_CEIL
                                                                                  : ASP_C_OP_INT;
    return {ASP_C_PYTHON_ERROR_STATUS(ASP_C_INT_OF_NAN, op, e.raises), ASP_C_PYTHON_ERROR_STATUS(ASP_C_INT_OF_INF, op, e.raises)};
  }

  // Every such status of `block`, in the order of first appearance.
  static std::vector<int> python_codes(const Block& block) {
    std::vector<int> codes;
    auto visit = [&](const Expr& e) {
      for (int c : python_codes(e)) {
        if (std::find(codes.begin(), codes.end(), c) == codes.end()) codes.push_back(c);
      }
    };
    for_each_expr(block, visit);
    return codes;
  }

  // The flags `block` sets, in order of first appearance.
  std::vector<std::string> flags_of(const Block& block) const {
    std::vector<std::string> names;
    for (int c : python_codes(block)) {
      if (std::find(names.begin(), names.end(), flags_.at(c)) == names.end()) names.push_back(flags_.at(c));
    }
    return names;
  }

  // The OpenMP reduction clauses of those flags: | for the math calls', max for the conversions'.
  std::string flag_clauses(const Block& block) const {
    std::string ors, maxes;
    for (const std::string& name : flags_of(block)) {
      std::string& list = conversion_flags_.count(name) ? maxes : ors;
      list += (list.empty() ? "" : ", ") + name;
    }
    return (ors.empty() ? "" : " reduction(|:" + ors + ")") + (maxes.empty() ? "" : " reduction(max:" + maxes + ")");
  }

  // Declares the flags `block` sets, each 0.
  void declare_flags(std::ostringstream& out, const Block& block, const std::string& pad) const {
    for (const std::string& name : flags_of(block)) {
      out << pad << (conversion_flags_.count(name) ? "asp_u64 " : "int ") << name << " = 0;\n";
    }
  }

  // Reports the first of the statuses whose flags are set: tested once, where
  // the flags' scope ends (the function, a pthreads chunk, a device thread).
  void report_flags(std::ostringstream& out, const Block& block, const std::string& pad, const std::string& status) const {
    const std::vector<int> codes = python_codes(block);
    for (size_t k = 0; k < codes.size(); ++k) {
      char code[16];
      std::snprintf(code, sizeof code, "0x%08x", static_cast<unsigned>(codes[k]));
      const std::string& flag = flags_.at(codes[k]);
      // A conversion's flag is the largest of its operands' bits without the sign:
      // 0x7FF0000000000000 is an infinity, anything above a nan.
      const std::string test = !conversion_flags_.count(flag) ? flag
                               : ASP_C_PYTHON_ERROR_OF(codes[k]) == ASP_C_INT_OF_NAN ? flag + " > 0x7FF0000000000000ULL"
                                                                                   : flag + " == 0x7FF0000000000000ULL";
      out << (k ? pad + "else " : pad) << "if (" << test << ") asp_fail(" << status << ", " << code
          << ");  /* error " << ASP_C_PYTHON_ERROR_OF(codes[k]) << ", operation " << ASP_C_PYTHON_OPERATION_OF(codes[k])
          << ", line " << ASP_C_PYTHON_LINE_OF(codes[k]) << " */\n";
    }
  }

 private:
  // static int asp_body_f(<parameters>) plus the ASP_C_ENTRY wrapper that unpacks args[].
  std::string c_function() {
    std::ostringstream body;
    body << "static int asp_body_" << f_.name << "(" << parameter_list() << ") {\n";
    body << "  int asp_status = 0;\n  int* const asp_status_p = &asp_status;\n";
    declare_flags(body, f_.body, "  ");
    emit_strides(body);
    block(body, f_.body, 1, 0);
    report_flags(body, f_.body, "  ", "asp_status_p");
    body << "  return asp_status;\n}\n\n";
    body << "int " << c_entry_symbol(f_.name) << "(void* const* args) {\n  return asp_body_" << f_.name << "(";
    for (size_t k = 0; k < f_.params.size(); ++k) {
      const Param& p = f_.params[k];
      body << (k ? ", " : "") << (p.kind == Param::Kind::buffer ? "(" + std::string(c_type(p.type)) + "*)args[" : "*(const " + std::string(c_type(p.type)) + "*)args[") << k << "]";
    }
    body << ");\n}\n";
    return outlined_.str() + body.str();
  }

  std::string parameter_list() const {
    std::string out;
    for (const Param& p : f_.params) {
      out += (out.empty() ? "" : ", ") + std::string(c_type(p.type)) + (p.kind == Param::Kind::buffer ? "* " : " ") + cname(p.name);
    }
    return out;
  }

  // The device entry convention of <asp/plugin.h>: f's parameters, then the status word.
  std::string kernel() {
    std::ostringstream out, conversions;
    out << dialect_.kernel_head() << c_entry_symbol(f_.name) << "(";
    for (size_t k = 0; k < f_.params.size(); ++k) {
      const Param& p = f_.params[k];
      if (p.kind == Param::Kind::buffer) {
        out << dialect_.buffer_space() << c_type(p.type) << "* " << cname(p.name);
      } else if (p.type == Type::boolean) {
        // A bool crosses as one byte (OpenCL forbids bool kernel parameters, and its size is the compiler's choice).
        const std::string raw = "asp_arg" + std::to_string(k);
        out << "asp_u8 " << raw;
        conversions << "  const asp_bool " << cname(p.name) << " = " << raw << " != 0;\n";
      } else {
        out << c_type(p.type) << " " << cname(p.name);
      }
      out << ", ";
    }
    out << dialect_.status_type() << " " << dialect_.status_pointer() << ") {\n" << conversions.str();
    declare_flags(out, f_.body, "  ");
    emit_strides(out);
    block(out, f_.body, 1, 0);
    report_flags(out, f_.body, "  ", dialect_.status_pointer());
    out << "}\n";
    return out.str();
  }

  static std::string extent(const Extent& x) {
    return std::holds_alternative<std::int64_t>(x) ? "(asp_i64)" + std::to_string(std::get<std::int64_t>(x))
                                                   : cname(std::get<std::string>(x));
  }

  std::string stride_name(const std::string& buffer, size_t d) const {
    return "asp_s" + std::to_string(buffer_index_.at(buffer)) + "_" + std::to_string(d);
  }

  // Strides in elements, computed once per call; compact row-major unless the IR gives them.
  void emit_strides(std::ostringstream& out) {
    for (const Param& p : f_.params) {
      if (p.kind != Param::Kind::buffer) continue;
      const size_t rank = p.shape.size();
      for (size_t d = 0; d < rank; ++d) {
        std::string value;
        if (!p.strides.empty()) {
          value = extent(p.strides[d]);
        } else if (d + 1 == rank) {
          value = "1";
        } else {
          value = stride_name(p.name, d + 1) + " * " + extent(p.shape[d + 1]);
        }
        // Emitted innermost first so each can use the next.
        stride_lines_.insert(stride_lines_.begin(), "  const asp_i64 " + stride_name(p.name, d) + " = " + value + ";\n");
        strides_.push_back(stride_name(p.name, d));
      }
      for (const std::string& line : stride_lines_) out << line;
      stride_lines_.clear();
    }
  }

  const Symbol* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (auto found = it->find(name); found != it->end()) return &found->second;
    }
    return nullptr;
  }

  void declare(const std::string& name, Type type, Symbol::Kind kind) { scopes_.back()[name] = {type, kind, gpu_depth_}; }

  bool affine_var(const std::string& name) const {
    const Symbol* s = lookup(name);
    return s && (s->kind == Symbol::Kind::loop_var || s->kind == Symbol::Kind::scalar);
  }

  bool nonzero_constant(const ExprPtr& e) const {
    if (e->kind != Expr::Kind::constant) return false;
    if (auto* d = std::get_if<double>(&e->value)) return *d != 0;
    if (auto* i = std::get_if<std::int64_t>(&e->value)) return *i != 0 && *i != -1;
    if (auto* u = std::get_if<std::uint64_t>(&e->value)) return *u != 0;
    return false;
  }

  bool guarded(const ExprPtr& index) const {
    return !is_affine(index, [&](const std::string& n) { return affine_var(n); });
  }

  // The element offset of an access. A data-dependent index is checked; `ok`
  // names the flag a failed check clears (a store then skips its write).
  std::string offset(const std::string& buffer, const std::vector<ExprPtr>& indices, const char* ok = nullptr) {
    const Param& p = *f_.param(buffer);
    std::string out;
    for (size_t d = 0; d < indices.size(); ++d) {
      std::string index = expr(indices[d]);
      if (guarded(indices[d])) {
        index = std::string(ok ? "asp_check_ok(" : "asp_check(") + index + ", " + extent(p.shape[d]) + ", " +
                dialect_.status_pointer() + ", " + std::to_string(ASP_C_OUT_OF_BOUNDS + buffer_index_.at(buffer)) +
                (ok ? std::string(", ") + ok : "") + ")";
      }
      const bool unit = p.strides.empty() && d + 1 == indices.size();
      out += (out.empty() ? "" : " + ") + (unit ? "(" + index + ")" : "(" + index + ") * " + stride_name(buffer, d));
    }
    return out;
  }

  std::string expr(const ExprPtr& e) { return dispatch(*this, e); }

 public:
  // The emitter writes every node kind of PSIR (exhaustive, see <asp/ir_visit.hpp>).

  std::string on_constant(const ExprPtr& e) {
    if (auto* d = std::get_if<double>(&e->value)) return format_double(*d, e->type, dialect_);
    if (auto* b = std::get_if<bool>(&e->value)) return *b ? "((asp_bool)1)" : "((asp_bool)0)";
    if (auto* i = std::get_if<std::int64_t>(&e->value)) {
      // INT64_MIN has no literal of its own in C.
      if (*i == std::numeric_limits<std::int64_t>::min()) return "((asp_i64)(-9223372036854775807LL - 1))";
      return "((" + std::string(c_type(e->type)) + ")" + std::to_string(*i) + "LL)";
    }
    return "((" + std::string(c_type(e->type)) + ")" + std::to_string(std::get<std::uint64_t>(e->value)) + "ULL)";
  }
  std::string on_var(const ExprPtr& e) { return cname(e->name); }
  std::string on_load(const ExprPtr& e) { return cname(e->name) + "[" + offset(e->name, e->args) + "]"; }
  std::string on_unary(const ExprPtr& e) {
    const std::string a = expr(e->args[0]);
    const std::string op(c_symbol(e->unary_op));
    return narrow(e->type) ? "((" + std::string(c_type(e->type)) + ")(" + op + a + "))" : "(" + op + a + ")";
  }
  std::string on_binary(const ExprPtr& e) {
    const Type t = e->args[0]->type;
    const std::string a = expr(e->args[0]), b = expr(e->args[1]);
    const BinaryOp op = e->binary_op;
    if ((op == BinaryOp::div || op == BinaryOp::rem) && !nonzero_constant(e->args[1])) {
      return helpers_.use(op == BinaryOp::div ? "div" : "rem", t) + "(" + a + ", " + b + ", " + dialect_.status_pointer() + ")";
    }
    const std::string text = "(" + a + " " + std::string(spelling(op)) + " " + b + ")";
    return narrow(e->type) && !is_comparison(op) ? "((" + std::string(c_type(e->type)) + ")" + text + ")" : text;
  }
  std::string on_select(const ExprPtr& e) {
    return "(" + expr(e->args[0]) + " ? " + expr(e->args[1]) + " : " + expr(e->args[2]) + ")";
  }
  std::string on_cast(const ExprPtr& e) {
    if (const std::vector<int> codes = python_codes(*e); !codes.empty()) {
      return helpers_.use("py_int_" + std::string(type_name(e->type)), e->args[0]->type) + "(" + expr(e->args[0]) +
             ", &" + flags_.at(codes[0]) + ")";
    }
    return "((" + std::string(c_type(e->type)) + ")(" + expr(e->args[0]) + "))";
  }
  std::string on_call(const ExprPtr& e) { return call(e); }

 private:
  std::string call(const ExprPtr& e) {
    const Type t = e->args[0]->type;
    std::vector<std::string> args;
    for (const ExprPtr& a : e->args) args.push_back(expr(a));
    const std::string joined = args.size() == 1 ? args[0] : args[0] + ", " + args[1];
    const Intrinsic f = e->intrinsic;
    const std::string n(spelling(f));
    if (f == Intrinsic::min || f == Intrinsic::max || f == Intrinsic::abs) return helpers_.use(n, t) + "(" + joined + ")";
    if (f == Intrinsic::floordiv || f == Intrinsic::mod) return helpers_.use(n, t) + "(" + joined + ", " + dialect_.status_pointer() + ")";
    if (const std::vector<int> codes = python_codes(*e); !codes.empty()) {
      return helpers_.use("py_" + n, t) + "(" + joined + ", &" + flags_.at(codes[0]) + ")";
    }
    return dialect_.math(n, t) + "(" + joined + ")";  // the remaining intrinsics are float-only
  }

  // Reduction variables declared outside `loop` that its body reduces into, with their operators.
  // Exhaustive: a parallel loop whose reduction it missed would race.
  static std::map<std::string, ReduceOp> reductions(const Loop& loop) {
    struct Reductions : StmtWalker<Reductions>, asp::ir::Exhaustive {
      void on_let(const Stmt& s) { inner.insert(s.name); }
      void on_decl(const Stmt& s) { inner.insert(s.name); }
      void on_reduce(const Stmt& s) {
        if (!inner.count(s.name)) found[s.name] = s.reduce_op;
      }
      void on_loop(const Stmt& s) { descend(s); }
      void on_if(const Stmt& s) { descend(s); }
      void on_assign(const Stmt&) {}
      void on_store(const Stmt&) {}
      std::map<std::string, ReduceOp> found;
      std::set<std::string> inner;
    } walker;
    walker.block(loop.body);
    return walker.found;
  }

  std::string identity(ReduceOp op, Type t) const {
    if (op == ReduceOp::add) return is_float(t) ? format_double(0.0, t, dialect_) : "0";
    if (op == ReduceOp::mul) return is_float(t) ? format_double(1.0, t, dialect_) : "1";
    const bool is_min = op == ReduceOp::min;
    if (is_float(t)) return format_double(is_min ? INFINITY : -INFINITY, t, dialect_);
    if (is_unsigned(t)) return is_min ? "(" + std::string(c_type(t)) + ")-1" : "0";
    const int bits = t == Type::i8 ? 8 : t == Type::i16 ? 16 : t == Type::i32 ? 32 : 64;
    const std::string max = "(" + std::string(c_type(t)) + ")(((asp_u64)1 << " + std::to_string(bits - 1) + ") - 1)";
    return is_min ? max : "(-" + max + " - 1)";
  }

  std::string combine(ReduceOp op, Type t, const std::string& acc, const std::string& value) {
    const std::string sign(spelling(op));
    if (op == ReduceOp::min || op == ReduceOp::max) return helpers_.use(sign, t) + "(" + acc + ", " + value + ")";
    std::string text = "(" + acc + " " + sign + " " + value + ")";
    return narrow(t) ? "((" + std::string(c_type(t)) + ")" + text + ")" : text;
  }

  void block(std::ostringstream& out, const Block& b, int depth, int parallel_depth) {
    scopes_.emplace_back();
    for (const Stmt& s : b) stmt(out, s, depth, parallel_depth);
    scopes_.pop_back();
  }

  void stmt(std::ostringstream& out, const Stmt& s, int depth, int parallel_depth) {
    dispatch(*this, s, out, depth, parallel_depth);
  }

 public:
  // One C statement per PSIR statement, for every kind.
  void on_loop(const Stmt& s, std::ostringstream& out, int depth, int parallel_depth) {
    loop(out, *s.loop, depth, parallel_depth);
  }
  void on_let(const Stmt& s, std::ostringstream& out, int depth, int) {
    out << std::string(2 * depth, ' ') << (s.kind == Stmt::Kind::let ? "const " : "") << c_type(s.type) << " "
        << cname(s.name) << " = " << expr(s.value) << ";\n";
    declare(s.name, s.type, Symbol::Kind::local);
  }
  void on_decl(const Stmt& s, std::ostringstream& out, int depth, int parallel_depth) {
    on_let(s, out, depth, parallel_depth);
  }
  void on_assign(const Stmt& s, std::ostringstream& out, int depth, int) {
    out << std::string(2 * depth, ' ') << cname(s.name) << " = " << expr(s.value) << ";\n";
  }
  void on_reduce(const Stmt& s, std::ostringstream& out, int depth, int) {
    const Symbol& target = *lookup(s.name);
    if (dialect_.device() && target.gpu_depth < gpu_depth_) {
      // Every thread would hold its own partial result, and nothing combines them.
      throw asp::Error(ASP_ERR_UNSUPPORTED, "function '" + f_.name + "': the reduction into '" + s.name +
                                                "' crosses a GPU loop; device code reduces only within a thread");
    }
    out << std::string(2 * depth, ' ') << cname(s.name) << " = "
        << combine(s.reduce_op, target.type, cname(s.name), expr(s.value)) << ";\n";
  }
  void on_store(const Stmt& s, std::ostringstream& out, int depth, int) {
    const std::string pad(2 * depth, ' ');
    // A data-dependent index is checked before the write: out of bounds, nothing is written.
    if (std::any_of(s.indices.begin(), s.indices.end(), [&](const ExprPtr& i) { return guarded(i); })) {
      out << pad << "{\n" << pad << "  int asp_ok = 1;\n"
          << pad << "  const asp_i64 asp_at = " << offset(s.name, s.indices, "&asp_ok") << ";\n"
          << pad << "  if (asp_ok) " << cname(s.name) << "[asp_at] = " << expr(s.value) << ";\n"
          << pad << "}\n";
    } else if (&s == line_store_) {
      out << pad << "asp_line[" << cname(line_var_) << " - asp_k0] = " << expr(s.value) << ";\n";
    } else {
      out << pad << cname(s.name) << "[" << offset(s.name, s.indices) << "] = " << expr(s.value) << ";\n";
    }
  }
  void on_if(const Stmt& s, std::ostringstream& out, int depth, int parallel_depth) {
    const std::string pad(2 * depth, ' ');
    out << pad << "if (" << expr(s.value) << ") {\n";
    block(out, s.then_block, depth + 1, parallel_depth);
    if (!s.else_block.empty()) {
      out << pad << "} else {\n";
      block(out, s.else_block, depth + 1, parallel_depth);
    }
    out << pad << "}\n";
  }

 private:
  // A C expression for the iterations of `l` times those of the loops nested
  // directly inside it whose bounds use no loop variable: an estimate of the
  // work a parallel loop would share out, evaluated before it starts.
  std::string work_estimate(const Loop& l, const std::string& hi) {
    std::string work = "((" + hi + " - " + expr(l.lower) + ") / " + std::to_string(l.step) + ")";
    const Loop* inner = &l;
    while (inner->body.size() == 1 && inner->body[0].kind == Stmt::Kind::loop) {
      inner = inner->body[0].loop.get();
      bool uses_loop_var = false;
      auto check = [&](const Expr& e) { uses_loop_var |= e.kind == Expr::Kind::var && !affine_var_is_param(e.name); };
      for_each_expr(inner->lower, check);
      for_each_expr(inner->upper, check);
      if (uses_loop_var) break;
      work += " * ((" + expr(inner->upper) + " - " + expr(inner->lower) + ") / " + std::to_string(inner->step) + ")";
    }
    return work;
  }

  bool affine_var_is_param(const std::string& name) const {
    const Symbol* s = lookup(name);
    return s && s->kind == Symbol::Kind::scalar;
  }

  // The pragma, if any, that says how a loop runs (C shares out only the outermost parallel loop, see loop()).
  std::string loop_pragma(const Loop& l) {
    if (*dialect_.simd_pragma() && l.kind == LoopKind::vectorized) return dialect_.simd_pragma() + reduction_clauses(l);
    if (l.kind == LoopKind::unrolled) return dialect_.unroll_pragma();
    return "";
  }

  std::string reduction_clauses(const Loop& l) const {
    std::string clauses;
    for (const auto& [name, op] : reductions(l)) clauses += " reduction(" + std::string(spelling(op)) + ":" + cname(name) + ")";
    clauses += flag_clauses(l.body);
    return clauses;
  }

  // The store of a streaming loop that can go past the caches: its body's
  // one store, last, to a compact buffer at the loop variable along the last
  // axis (a contiguous row), at an index of loop variables and parameters.
  const Stmt* streamed_store(const Loop& l) {
    if (!dialect_.streaming_stores() || l.kind != LoopKind::streaming || l.step != 1 || l.body.empty()) return nullptr;
    const Stmt& last = l.body.back();
    if (last.kind != Stmt::Kind::store || !f_.param(last.name)->strides.empty()) return nullptr;
    struct Stores : StmtWalker<Stores> {
      void on_store(const Stmt&) { ++count; }
      int count = 0;
    } stores;
    stores.block(l.body);
    const ExprPtr& row = last.indices.back();
    if (stores.count != 1 || row->kind != Expr::Kind::var || row->name != l.var) return nullptr;
    scopes_.emplace_back();
    declare(l.var, Type::i64, Symbol::Kind::loop_var);
    const bool plain = std::none_of(last.indices.begin(), last.indices.end(), [&](const ExprPtr& i) { return guarded(i); });
    scopes_.pop_back();
    return plain ? &last : nullptr;
  }

  static bool streams(const Block& b) {
    struct Streams : StmtWalker<Streams> {
      void on_loop(const Stmt& s) {
        found |= s.loop->kind == LoopKind::streaming;
        descend(s);
      }
      bool found = false;
    } walker;
    walker.block(b);
    return walker.found;
  }

  // Streaming stores are weakly ordered: each thread fences them before its
  // share of the sweep ends, so that the threads that read the grid next see them.
  void fence_streams(std::ostringstream& out, const Loop& l, const std::string& pad) const {
    if (dialect_.streaming_stores() && (l.kind == LoopKind::streaming || streams(l.body))) {
      out << pad << "__atomic_thread_fence(__ATOMIC_SEQ_CST);\n";
    }
  }

  // A streaming loop: ordinary stores up to the first iteration whose element
  // starts a 64-byte line; then chunks of whole lines, each computed by the
  // loop as it is (vectorized) into `asp_line`, a 2 KiB array that stays in
  // L1, and copied out a line at a time by non-temporal stores
  // (ASP_STREAM_LINE: the compilers vectorize no loop that stores
  // non-temporally element by element); then the rest of the row.
  void streaming_loop(std::ostringstream& out, const Loop& l, const Stmt& store, int depth, int parallel_depth) {
    const std::string pad(2 * depth, ' ');
    const std::string hi = "asp_hi" + std::to_string(loop_counter_++);
    const std::string v = cname(l.var);
    const std::string t = c_type(lookup(store.name)->type);
    const std::string lanes = "(64 / (asp_i64)sizeof(" + t + "))", chunk = "(2048 / (asp_i64)sizeof(" + t + "))";
    auto at = [&](const std::string& i) {  // the address of the store's element at iteration i
      scopes_.emplace_back();
      declare(l.var, Type::i64, Symbol::Kind::loop_var);
      const std::string address = "&" + cname(store.name) + "[" + offset(store.name, store.indices) + "]";
      scopes_.pop_back();
      return "({ const asp_i64 " + v + " = " + i + "; " + address + "; })";
    };
    out << pad << "{\n" << pad << "  const asp_i64 " << hi << " = " << expr(l.upper) << ";\n"
        << pad << "  const asp_i64 asp_lo = " << expr(l.lower) << ";\n"
        << pad << "  const asp_u64 asp_at = (asp_u64)(__SIZE_TYPE__)" << at("asp_lo") << " % 64;\n"
        << pad << "  asp_i64 asp_first = asp_at % sizeof(" << t << ") ? " << hi << " : asp_lo + (asp_i64)((64 - asp_at) % 64 / sizeof(" << t << "));\n"
        << pad << "  if (asp_first > " << hi << ") asp_first = " << hi << ";\n"
        << pad << "  const asp_i64 asp_last = asp_first + (" << hi << " - asp_first) / " << lanes << " * " << lanes << ";\n";
    const std::string simd = *dialect_.simd_pragma() ? dialect_.simd_pragma() + reduction_clauses(l) : "";
    auto rows = [&](const std::string& from, const std::string& to, const std::string& in) {
      if (!simd.empty()) out << pad << in << simd << "\n";
      out << pad << in << "for (asp_i64 " << v << " = " << from << "; " << v << " < " << to << "; " << v << " += 1) {\n";
      scopes_.emplace_back();
      declare(l.var, Type::i64, Symbol::Kind::loop_var);
      block(out, l.body, depth + 1 + static_cast<int>(in.size() / 2), parallel_depth);
      scopes_.pop_back();
      out << pad << in << "}\n";
    };
    rows("asp_lo", "asp_first", "  ");
    out << pad << "  for (asp_i64 asp_k0 = asp_first; asp_k0 < asp_last; asp_k0 += " << chunk << ") {\n"
        << pad << "    const asp_i64 asp_k1 = asp_last - asp_k0 < " << chunk << " ? asp_last : asp_k0 + " << chunk << ";\n"
        << pad << "    " << t << " asp_line[" << chunk << "] __attribute__((aligned(64)));\n";
    line_store_ = &store;
    line_var_ = l.var;
    rows("asp_k0", "asp_k1", "    ");
    line_store_ = nullptr;
    out << pad << "    " << t << "* const asp_to = " << at("asp_k0") << ";\n"
        << pad << "    for (asp_i64 asp_j = 0; asp_j < asp_k1 - asp_k0; asp_j += " << lanes << ") ASP_STREAM_LINE(asp_to + asp_j, asp_line + asp_j);\n"
        << pad << "  }\n";
    rows("asp_last", hi, "  ");
    out << pad << "}\n";
  }

  void loop(std::ostringstream& out, const Loop& l, int depth, int parallel_depth) {
    const bool gpu = l.kind == LoopKind::gpu_block || l.kind == LoopKind::gpu_thread;
    if (gpu && dialect_.device()) {
      gpu_loop(out, l, depth, parallel_depth);
      return;
    }
    if (const Stmt* store = streamed_store(l)) {
      streaming_loop(out, l, *store, depth, parallel_depth);
      if (parallel_depth == 0) fence_streams(out, l, std::string(2 * depth, ' '));
      return;
    }
    const std::string pad(2 * depth, ' ');
    const bool parallel = l.kind == LoopKind::parallel || gpu;
    const std::string hi = "asp_hi" + std::to_string(loop_counter_++);
    const std::string v = cname(l.var);
    out << pad << "{\n" << pad << "  const asp_i64 " << hi << " = " << expr(l.upper) << ";\n";
    const std::string header =
        "for (asp_i64 " + v + " = " + expr(l.lower) + "; " + v + " < " + hi + "; " + v + " += " + std::to_string(l.step) + ")";
    if (parallel && parallel_depth == 0 && dialect_.sharing() == Dialect::Sharing::pool) {
      outline(out, l, hi, work_estimate(l, hi), depth + 1);
      out << pad << "}\n";
      return;
    }
    if (parallel && parallel_depth == 0 && dialect_.sharing() == Dialect::Sharing::openmp) {
      // A parallel region that shares out the iterations itself, as
      // schedule(static) would: `omp for` enters the runtime's worksharing on
      // every call, also when the region runs on the calling thread alone, and
      // that entry costs a small loop more than the loop (Debian's libomp
      // formats a trace line there each time).
      const std::string begin = "asp_b" + hi.substr(6), end = "asp_e" + hi.substr(6);
      out << pad << "  #pragma omp parallel if(" << work_estimate(l, hi) << " >= ASP_PARALLEL_MIN_WORK)"
          << reduction_clauses(l) << "\n"
          << pad << "  {\n"
          << pad << "    asp_i64 " << begin << " = " << expr(l.lower) << ", " << end << " = " << hi << ";\n"
          << pad << "    asp_omp_share(&" << begin << ", &" << end << ", " << l.step << ");\n"
          << pad << "    for (asp_i64 " << v << " = " << begin << "; " << v << " < " << end << "; " << v << " += " << l.step
          << ") {\n";
      scopes_.emplace_back();
      declare(l.var, Type::i64, Symbol::Kind::loop_var);
      block(out, l.body, depth + 3, parallel_depth + 1);
      scopes_.pop_back();
      out << pad << "    }\n";
      fence_streams(out, l, pad + "    ");
      out << pad << "  }\n" << pad << "}\n";
      return;
    }
    if (const std::string pragma = loop_pragma(l); !pragma.empty()) {
      out << pad << "  " << pragma << "\n";
    }
    out << pad << "  " << header << " {\n";
    scopes_.emplace_back();
    declare(l.var, Type::i64, Symbol::Kind::loop_var);
    block(out, l.body, depth + 2, parallel_depth + (parallel ? 1 : 0));
    scopes_.pop_back();
    out << pad << "  }\n";
    if (parallel_depth == 0) fence_streams(out, l, pad + "  ");
    out << pad << "}\n";
  }

  // One iteration per block or thread of the launch: the loop variable comes
  // from the grid index, and the iterations past the upper bound (the grid
  // rounds up to whole blocks) do nothing.
  void gpu_loop(std::ostringstream& out, const Loop& l, int depth, int parallel_depth) {
    const std::string pad(2 * depth, ' ');
    const std::string v = cname(l.var);
    out << pad << "{\n"
        << pad << "  const asp_i64 " << v << " = " << expr(l.lower) << " + (asp_i64)" << dialect_.gpu_index(l.kind, l.dim)
        << " * " << l.step << ";\n";
    scopes_.emplace_back();
    ++gpu_depth_;
    declare(l.var, Type::i64, Symbol::Kind::loop_var);
    out << pad << "  if (" << v << " < " << expr(l.upper) << ") {\n";
    block(out, l.body, depth + 2, parallel_depth + 1);
    --gpu_depth_;
    scopes_.pop_back();
    out << pad << "  }\n" << pad << "}\n";
  }

  // pthreads: the loop body becomes a chunk function run by the pool; every
  // name in scope travels in a context struct, reductions as pointers
  // combined under the pool's lock.
  void outline(std::ostringstream& out, const Loop& l, const std::string& hi, const std::string& work, int depth) {
    const int id = outlined_counter_++;
    const std::string ctx_type = "struct asp_ctx_" + std::to_string(id);
    const std::string chunk = "asp_chunk_" + std::to_string(id);
    const auto reduced = reductions(l);
    std::vector<std::pair<std::string, std::string>> members;  // (C declaration type, name)
    std::map<std::string, Symbol> visible;
    for (const auto& scope : scopes_) {
      for (const auto& [name, symbol] : scope) visible[name] = symbol;
    }
    for (const auto& [name, symbol] : visible) {
      const std::string type = c_type(symbol.type);
      if (symbol.kind == Symbol::Kind::buffer) {
        members.emplace_back(type + "*", cname(name));
      } else if (!reduced.count(name)) {
        members.emplace_back(type, cname(name));
      }
    }
    // Reductions travel as pointers to the caller's variable, named after their position.
    std::vector<std::string> reduced_names;
    for (const auto& [name, op] : reduced) {
      members.emplace_back(std::string(c_type(visible.at(name).type)) + "*", "asp_r" + std::to_string(reduced_names.size()));
      reduced_names.push_back(name);
    }
    for (const std::string& s : strides_) members.emplace_back("asp_i64", s);
    members.emplace_back("int*", "asp_status_p");

    std::ostringstream fn;
    fn << ctx_type << " {\n";
    for (const auto& [type, name] : members) fn << "  " << type << " " << name << ";\n";
    fn << "};\n\n";
    fn << "static void " << chunk << "(void* asp_context, asp_i64 asp_begin, asp_i64 asp_end) {\n";
    fn << "  " << ctx_type << "* const asp_c = (" << ctx_type << "*)asp_context;\n";
    for (const auto& [type, name] : members) {
      if (name.rfind("asp_r", 0) == 0) continue;
      fn << "  " << type << " const " << name << " = asp_c->" << name << ";\n";
      fn << "  (void)" << name << ";\n";
    }
    for (const auto& [name, op] : reduced) {
      fn << "  " << c_type(visible.at(name).type) << " " << cname(name) << " = " << identity(op, visible.at(name).type) << ";\n";
    }
    declare_flags(fn, l.body, "  ");
    const std::string v = cname(l.var);
    fn << "  for (asp_i64 " << v << " = asp_begin; " << v << " < asp_end; " << v << " += " << l.step << ") {\n";
    scopes_.emplace_back();
    declare(l.var, Type::i64, Symbol::Kind::loop_var);
    std::ostringstream body;
    block(body, l.body, 2, 1);
    scopes_.pop_back();
    fn << body.str() << "  }\n";
    fence_streams(fn, l, "  ");
    report_flags(fn, l.body, "  ", "asp_status_p");
    if (!reduced.empty()) {
      fn << "  asp_rt->lock(asp_rt->pool);\n";
      for (size_t r = 0; r < reduced_names.size(); ++r) {
        const std::string& name = reduced_names[r];
        const std::string target = "*asp_c->asp_r" + std::to_string(r);
        fn << "  " << target << " = " << combine(reduced.at(name), visible.at(name).type, target, cname(name)) << ";\n";
      }
      fn << "  asp_rt->unlock(asp_rt->pool);\n";
    }
    fn << "}\n\n";
    outlined_ << fn.str();

    const std::string pad(2 * depth, ' ');
    out << pad << ctx_type << " asp_c = {";
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string& name = members[i].second;
      const bool reduction = name.rfind("asp_r", 0) == 0;
      out << (i ? ", " : "") << (reduction ? "&" + cname(reduced_names[std::stoul(name.substr(5))]) : name);
    }
    out << "};\n";
    const std::string lower = expr(l.lower);
    out << pad << "if (asp_rt && " << work << " >= ASP_PARALLEL_MIN_WORK) {\n"
        << pad << "  asp_rt->parallel_for(asp_rt->pool, " << lower << ", " << hi << ", " << l.step << ", " << schedule(l)
        << ", " << chunk << ", &asp_c);\n"
        << pad << "} else {\n"
        << pad << "  " << chunk << "(&asp_c, " << lower << ", " << hi << ");\n"
        << pad << "}\n";
  }

  // Uniform bodies split best statically; bodies with branches or inner loops of
  // varying length balance better on demand.
  static const char* schedule(const Loop& l) {
    struct Uneven : StmtWalker<Uneven> {
      explicit Uneven(const std::string& v) : outer(v) {}
      void on_if(const Stmt&) { uneven = true; }
      void on_loop(const Stmt& s) {
        if (s.loop->lower->kind != Expr::Kind::constant || s.loop->upper->kind != Expr::Kind::constant) {
          auto check = [&](const Expr& e) { uneven |= e.kind == Expr::Kind::var && e.name == outer; };
          for_each_expr(s.loop->lower, check);
          for_each_expr(s.loop->upper, check);
        }
        block(s.loop->body);
      }
      const std::string& outer;
      bool uneven = false;
    } walker(l.var);
    walker.block(l.body);
    return walker.uneven ? "1 /* ASP_SCHEDULE_DYNAMIC */" : "0 /* ASP_SCHEDULE_STATIC */";
  }

  const Function& f_;
  const Dialect& dialect_;
  Helpers& helpers_;
  int& outlined_counter_;
  std::vector<std::map<std::string, Symbol>> scopes_;
  std::map<std::string, int> buffer_index_;
  std::vector<std::string> stride_lines_;
  std::vector<std::string> strides_;
  std::ostringstream outlined_;
  int loop_counter_ = 0;
  int gpu_depth_ = 0;
  const Stmt* line_store_ = nullptr;  // the store a streaming loop writes into asp_line, of the loop `line_var_`
  std::string line_var_;
  std::map<int, std::string> flags_;  // ASP_C_PYTHON_ERROR status -> the flag that notes it
  std::vector<std::string> flag_names_;
  std::set<std::string> conversion_flags_;  // flags of float-to-int conversions (asp_u64, combined by max)
};

}  // namespace

std::string status_helpers(const Dialect& dialect) {
  const std::string fun = dialect.local_function(), status = dialect.status_type();
  // Concurrent failures may race to store their codes: any non-zero code is a
  // correct report (the dialect's store must not be torn).
  const char* store = dialect.status_store();
  return fun + " void asp_fail(" + status + " status, int code) { " + store + " }\n" +
         fun + " asp_i64 asp_check(asp_i64 i, asp_i64 n, " + status + " status, int code) {\n"
         "  if (i < 0 || i >= n) { asp_fail(status, code); return 0; }\n"
         "  return i;\n"
         "}\n" +
         fun + " asp_i64 asp_check_ok(asp_i64 i, asp_i64 n, " + status + " status, int code, int* ok) {\n"
         "  if (i < 0 || i >= n) { asp_fail(status, code); *ok = 0; return 0; }\n"
         "  return i;\n"
         "}\n";
}

EmittedModule emit_module(const Module& module, const Dialect& dialect) {
  Helpers helpers(dialect);
  int outlined = 0;
  std::string functions;
  for (const Function& f : module.functions) functions += "\n" + FunctionEmitter(f, dialect, helpers, outlined).emit();
  return {helpers.text(), functions};
}

}  // namespace asp::backends
