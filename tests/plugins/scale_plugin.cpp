// A small domain, "scale", that exercises the whole specialization pipeline
// in the tests without any real domain: a function whose body is one
// element-wise statement
//
//     out[i] = a[i] * c          (any rank; i stands for the whole index)
//     out[i] = a[i] / c * 2.0    (a chain of * and / over loads, scalars, constants)
//     out[i] = t[idx[i]] * c     (1-D gather: a data-dependent index)
//
// becomes DSIR ("dsir.scale"), an optimizer drops factors "* 1.0" (exact), and
// the lowering writes PSIR with two variants: parallel and serial.
#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>
#include <asp/tree.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace {

using asp::tree::Node;
using asp::tree::Value;
namespace psir = asp::psir;

constexpr std::string_view dsir_dialect = "dsir.scale";

[[noreturn]] void unsupported(const Node& node, const std::string& what) {
  throw asp::Error(ASP_ERR_UNSUPPORTED, what, asp::Location{"", node.line, node.column + 1});
}

const Node& child(const Node& node, const char* field) {
  const Value* v = node.field(field);
  if (!v || !v->node()) unsupported(node, std::string("expected a node in field ") + field + " of " + node.kind);
  return *v->node();
}

const std::string& name_of(const Node& node) {
  if (node.kind != "Name") unsupported(node, "the scale domain expects a name here, not " + node.kind);
  return *node.field("id")->string();
}

std::string type_of(DLDataType t) {
  if (t.lanes == 1 && t.code == kDLFloat && (t.bits == 32 || t.bits == 64)) return "f" + std::to_string(t.bits);
  if (t.lanes == 1 && t.code == kDLInt && (t.bits == 32 || t.bits == 64)) return "i" + std::to_string(t.bits);
  return "";
}

std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// The state of one translation (a frontend may be called from several threads at once).
class Translation {
 public:
  explicit Translation(std::span<const asp_arg> args) : args_(args) {}

  std::string run(std::string_view tree) {
    const Value root = asp::tree::parse(tree);
    const Node& spec = *root.node();
    const Node& function = child(spec, "function");
    for (const Value& c : *spec.field("constants")->list()) {
      const Node& constant = *c.node();
      const Value& value = *constant.field("value");
      if (const double* d = value.real()) constants_[*constant.field("name")->string()] = *d;
      if (const std::int64_t* i = value.integer()) constants_[*constant.field("name")->string()] = static_cast<double>(*i);
    }
    const asp::tree::List& body = *function.field("body")->list();
    if (body.size() != 1) unsupported(*body.back().node(), "the scale domain takes a function of exactly one statement");
    const Node& assign = *body[0].node();
    if (assign.kind != "Assign") unsupported(assign, "the scale domain does not support " + assign.kind);
    const Node& target = *(*assign.field("targets")->list())[0].node();
    if (target.kind != "Subscript") unsupported(target, "the scale domain assigns to an element, out[i]");
    out_ = name_of(child(target, "value"));
    index_ = name_of(child(target, "slice"));
    const asp_arg& out = tensor(out_, target);
    dtype_ = type_of(out.tensor.dtype);
    if (dtype_.empty()) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "argument '" + out_ + "' must be float32, float64, int32 or int64");
    std::string dsir = asp::ir::header_line(1, dsir_dialect);
    dsir += "kernel " + *function.field("name")->string() + "\n";
    dsir += "dtype " + dtype_ + "\nrank " + std::to_string(out.tensor.ndim) + "\nout " + out_ + "\n";
    return dsir + chain(child(assign, "value"), "first");
  }

 private:
  const asp_arg* find(const std::string& name) const {
    for (const asp_arg& a : args_) {
      if (name == a.name) return &a;
    }
    return nullptr;
  }

  const asp_arg& tensor(const std::string& name, const Node& at) const {
    const asp_arg* a = find(name);
    if (!a || a->kind != ASP_ARG_TENSOR) unsupported(at, "'" + name + "' is not an array argument");
    return *a;
  }

  // A left-associated chain of * and /, one DSIR line per factor.
  std::string chain(const Node& e, const std::string& op) {
    if (e.kind == "BinOp") {
      const std::string kind = child(e, "op").kind;
      if (kind != "Mult" && kind != "Div") unsupported(e, "the scale domain multiplies and divides only, not " + kind);
      return chain(child(e, "left"), op) + chain(child(e, "right"), kind == "Mult" ? "mul" : "div");
    }
    return op + " " + factor(e) + "\n";
  }

  std::string factor(const Node& e) {
    if (e.kind == "Constant") {
      const Value& v = *e.field("value");
      if (const double* d = v.real()) return "const " + number(*d);
      if (const std::int64_t* i = v.integer()) return "const " + number(static_cast<double>(*i));
      unsupported(e, "the scale domain takes numbers only");
    }
    if (e.kind == "Name") {
      const std::string& name = name_of(e);
      if (auto c = constants_.find(name); c != constants_.end()) return "const " + number(c->second);
      const asp_arg* a = find(name);
      if (!a || a->kind != ASP_ARG_SCALAR) unsupported(e, "'" + name + "' is neither a scalar argument nor a constant");
      return "arg " + name;
    }
    if (e.kind != "Subscript") unsupported(e, "the scale domain does not support " + e.kind);
    const std::string& array = name_of(child(e, "value"));
    const asp_arg& a = tensor(array, e);
    const asp_arg& out = *find(out_);
    if (type_of(a.tensor.dtype) != dtype_) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "argument '" + array + "' must have the dtype of '" + out_ + "'",
                       asp::Location{"", e.line, e.column + 1});
    }
    const Node& index = child(e, "slice");
    if (index.kind == "Name" && name_of(index) == index_) {
      if (a.tensor.ndim != out.tensor.ndim) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "argument '" + array + "' must have the rank of '" + out_ + "'");
      }
      return "load " + array;
    }
    if (index.kind == "Subscript" && name_of(child(index, "slice")) == index_) {
      const std::string& idx = name_of(child(index, "value"));
      const asp_arg& i = tensor(idx, index);
      if (a.tensor.ndim != 1 || i.tensor.ndim != 1 || out.tensor.ndim != 1 || type_of(i.tensor.dtype).front() != 'i') {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "a gather reads 1-D arrays through a 1-D integer index");
      }
      return "gather " + array + " " + idx + " " + type_of(i.tensor.dtype);
    }
    unsupported(index, "the scale domain indexes with '" + index_ + "' or an index array only");
  }

  std::span<const asp_arg> args_;
  std::map<std::string, double> constants_;
  std::string out_, index_, dtype_;
};

class ScaleFrontend : public asp::Frontend {
 public:
  std::string translate(asp::Call&, std::string_view tree, std::span<const asp_arg> args) override {
    return Translation(args).run(tree);
  }
};

// Drops "mul const 1" factors: multiplying by one changes no value, NaN and -0.0 included.
class DropOnes : public asp::Optimizer {
 public:
  std::string run(asp::Call&, std::string_view ir) override {
    std::istringstream in{std::string(asp::ir::parse_header(ir)->body)};
    std::string out = asp::ir::header_line(1, dsir_dialect);
    for (std::string line; std::getline(in, line);) {
      if (line != "mul const 1") out += line + "\n";
    }
    return out;
  }
};

class ScaleLowering : public asp::Lowering {
 public:
  std::string lower(asp::Call&, std::string_view dsir) override {
    std::istringstream in{std::string(asp::ir::parse_header(dsir)->body)};
    std::string word, kernel, out;
    int rank = 0;
    psir::Type type = psir::Type::f64;
    std::vector<psir::Param> buffers, scalars;
    auto has = [](const std::vector<psir::Param>& ps, const std::string& n) {
      for (const auto& p : ps) {
        if (p.name == n) return true;
      }
      return false;
    };
    std::vector<psir::Extent> shape;
    std::vector<std::string> tables;  // the extents of gathered arrays
    std::vector<std::string> index;
    psir::ExprPtr value;
    while (in >> word) {
      if (word == "kernel") {
        in >> kernel;
      } else if (word == "dtype") {
        in >> word;
        type = *psir::parse_type(word);
      } else if (word == "rank") {
        in >> rank;
        for (int d = 0; d < rank; ++d) {
          shape.emplace_back(std::in_place_type<std::string>, "n" + std::to_string(d));
          index.push_back("i" + std::to_string(d));
        }
      } else if (word == "out") {
        in >> out;
        buffers.push_back(psir::buffer_param(out, type, shape));
      } else {
        std::string kind;
        in >> kind;
        psir::ExprPtr f;
        if (kind == "const") {
          double v;
          in >> v;
          f = psir::is_float(type) ? psir::constant(type, v) : psir::constant(type, static_cast<std::int64_t>(v));
        } else if (kind == "arg") {
          std::string name;
          in >> name;
          if (!has(scalars, name)) scalars.push_back(psir::scalar_param(name, type));
          f = psir::var(name, type);
        } else if (kind == "load") {
          std::string name;
          in >> name;
          if (!has(buffers, name)) buffers.push_back(psir::buffer_param(name, type, shape));
          std::vector<psir::ExprPtr> at;
          for (const auto& i : index) at.push_back(psir::var(i, psir::Type::i64));
          f = psir::load(name, type, at);
        } else {
          std::string table, idx, idx_type;
          in >> table >> idx >> idx_type;
          const psir::Type it = *psir::parse_type(idx_type);
          if (!has(buffers, table)) buffers.push_back(psir::buffer_param(table, type, {"m_" + table}));
          if (!has(buffers, idx)) buffers.push_back(psir::buffer_param(idx, it, shape));
          f = psir::load(table, type, {psir::cast(psir::Type::i64, psir::load(idx, it, {psir::var("i0", psir::Type::i64)}))});
          tables.push_back("m_" + table);
        }
        value = word == "first" ? f : psir::binary(word == "mul" ? psir::BinaryOp::mul : psir::BinaryOp::div, value, f);
      }
    }
    std::vector<psir::Param> params = buffers;
    params.insert(params.end(), scalars.begin(), scalars.end());
    for (const auto& e : shape) params.push_back(psir::scalar_param(std::get<std::string>(e), psir::Type::i64));
    for (const auto& m : tables) params.push_back(psir::scalar_param(m, psir::Type::i64));

    std::vector<psir::ExprPtr> at;
    for (const auto& i : index) at.push_back(psir::var(i, psir::Type::i64));
    psir::Module module;
    for (const bool parallel : {true, false}) {
      psir::Block body{psir::make_store(out, at, value)};
      for (int d = rank - 1; d >= 0; --d) {
        const psir::LoopKind kind = !parallel ? psir::LoopKind::serial
                                    : d == 0  ? psir::LoopKind::parallel
                                              : psir::LoopKind::serial;
        psir::Loop loop{index[static_cast<std::size_t>(d)], psir::i64(0),
                        psir::var(std::get<std::string>(shape[static_cast<std::size_t>(d)]), psir::Type::i64), 1, kind, 0,
                        std::move(body)};
        body = {psir::make_loop(std::move(loop))};
      }
      module.functions.push_back({parallel ? kernel : kernel + "_serial", params, nullptr, std::move(body)});
    }
    return psir::print(module);
  }
};

}  // namespace

ASP_PLUGIN("scale", "1.0.0", "test domain: element-wise scaling", asp::frontend<ScaleFrontend>("scale", "scale"),
           asp::optimizer<DropOnes>("scale_drop_ones", "scale", "dsir.scale"),
           asp::lowering<ScaleLowering>("scale_lower", "scale", "dsir.scale"))
