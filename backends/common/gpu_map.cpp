#include "gpu_map.hpp"
#include "read_psir.hpp"

#include <asp/psir_passes.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <set>

namespace asp::backends {

namespace {

using namespace asp::psir;

constexpr std::size_t max_depth = 3;  // a grid has three dimensions

const char* statement_name(Stmt::Kind kind) {
  switch (kind) {
    case Stmt::Kind::loop: return "loop";
    case Stmt::Kind::let: return "let";
    case Stmt::Kind::decl: return "var declaration";
    case Stmt::Kind::assign: return "assignment";
    case Stmt::Kind::reduce: return "reduction";
    case Stmt::Kind::store: return "store";
    case Stmt::Kind::if_: return "if";
  }
  return "statement";
}

// Why loop `l`'s bounds cannot size a launch grid (empty when they can).
std::string bounds_problem(const Function& f, const Loop& l) {
  const std::string lower = gpu_bound_problem(f, l.lower);
  return lower.empty() ? gpu_bound_problem(f, l.upper) : lower;
}

bool independent(const Loop& l) {
  return l.kind == LoopKind::parallel || l.kind == LoopKind::vectorized || l.kind == LoopKind::streaming;
}

// A perfect nest of loops at the top of a function's body that maps onto the grid.
struct Nest {
  std::size_t statement = 0;       // its outermost loop's index in the body
  std::vector<const Loop*> loops;  // outermost first
};

// What maps of a function's body: one nest per launch (plugin.h, ABI 1.4:
// psir::device_launches). A top-level loop that cannot map
// (serial, say: an in-place sweep whose points read each other) stays and
// runs as a single-thread launch of its own, between the mapped ones.
struct Mapping {
  std::vector<Nest> nests;  // empty when nothing maps
  std::size_t depth = 0;    // the deepest nest
  std::string problem;      // why nothing maps
  std::vector<std::string> single;  // why the top-level statements left as they are run as one thread (for the log)
};

// Every name a function declares, so that new ones clash with none.
std::set<std::string> names_in(const Function& f) {
  std::set<std::string> names;
  for (const Param& p : f.params) names.insert(p.name);
  struct Declared : StmtWalker<Declared> {
    explicit Declared(std::set<std::string>& n) : names(n) {}
    void on_let(const Stmt& s) { names.insert(s.name); }
    void on_decl(const Stmt& s) { names.insert(s.name); }
    void on_loop(const Stmt& s) {
      names.insert(s.loop->var);
      descend(s);
    }
    std::set<std::string>& names;
  };
  Declared(names).block(f.body);
  return names;
}

std::string fresh(std::set<std::string>& names, const std::string& base) {
  std::string name = base;
  for (int k = 2; names.count(name); ++k) name = base + std::to_string(k);
  names.insert(name);
  return name;
}

ExprPtr times(ExprPtr e, std::int64_t n) { return n == 1 ? e : mul(std::move(e), i64(n)); }

bool is_zero(const ExprPtr& e) {
  return e->kind == Expr::Kind::constant && e->type == Type::i64 && std::get<std::int64_t>(e->value) == 0;
}

// The nest rewritten onto blocks of `shape`, as one top-level statement.
Stmt map_nest(const Nest& nest, const std::array<std::int64_t, 3>& shape, std::set<std::string>& names) {
  const std::size_t depth = nest.loops.size();
  Block body = nest.loops.back()->body;
  ExprPtr in_range;
  std::vector<Loop> blocks, threads;
  for (std::size_t m = 0; m < depth; ++m) {
    const Loop& l = *nest.loops[m];
    const int dim = static_cast<int>(depth - 1 - m);  // the innermost loop is x: neighbouring threads, neighbouring elements
    const std::int64_t extent = shape[static_cast<std::size_t>(dim)];
    const std::int64_t span = l.step * extent;  // the iterations one block covers
    const std::string b = fresh(names, l.var + "_block"), t = fresh(names, l.var + "_thread");
    // ceil((U - L) / span) blocks: the core reads the grid from this loop's trip count.
    const ExprPtr width = is_zero(l.lower) ? l.upper : sub(l.upper, l.lower);
    blocks.push_back({b, i64(0), binary(BinaryOp::div, add(width, i64(span - 1)), i64(span)), 1, LoopKind::gpu_block, dim, {}});
    threads.push_back({t, i64(0), i64(extent), 1, LoopKind::gpu_thread, dim, {}});
    // The original variable is substituted, not bound by a let: an index built
    // from it stays affine, so the code generators need not guard it.
    ExprPtr v = times(add(times(var(b, Type::i64), extent), var(t, Type::i64)), l.step);
    if (!is_zero(l.lower)) v = add(l.lower, v);
    body = substitute(body, l.var, v);
    const ExprPtr below = binary(BinaryOp::lt, v, l.upper);
    in_range = in_range ? binary(BinaryOp::and_, in_range, below) : below;
  }
  Block nested = {make_if(in_range, std::move(body))};
  for (std::size_t m = depth; m-- > 0;) {
    threads[m].body = std::move(nested);
    nested = {make_loop(std::move(threads[m]))};
  }
  for (std::size_t m = depth; m-- > 0;) {
    blocks[m].body = std::move(nested);
    nested = {make_loop(std::move(blocks[m]))};
  }
  return std::move(nested[0]);
}

// The nest starting at loop `l`, or why none does.
std::string find_nest(const Function& f, const Loop* l, Nest& nest) {
  if (!independent(*l)) {
    return "its loop '" + l->var + "' is " + loop_kind_name(l->kind) + ", so its iterations may depend on each other";
  }
  if (const std::string why = bounds_problem(f, *l); !why.empty()) return "the bounds of its loop '" + l->var + "' " + why;
  nest.loops.push_back(l);
  while (nest.loops.size() < max_depth && l->body.size() == 1 && l->body[0].kind == Stmt::Kind::loop) {
    l = l->body[0].loop.get();
    if (!independent(*l) || !bounds_problem(f, *l).empty()) break;
    nest.loops.push_back(l);
  }
  return "";
}

Mapping find_mapping(const Function& f) {
  Mapping m;
  const Block& body = f.body;
  std::size_t lets = 0;
  while (lets < body.size() && body[lets].kind == Stmt::Kind::let) ++lets;
  std::size_t loops = 0;
  for (std::size_t i = lets; i < body.size(); ++i) loops += body[i].kind == Stmt::Kind::loop;
  if (loops == 0) {
    m.problem = "its body has no loop";
    return m;
  }
  for (std::size_t i = lets; i < body.size(); ++i) {
    const Stmt& s = body[i];
    if (s.kind != Stmt::Kind::loop) {
      m.single.push_back(std::string("a top-level ") + statement_name(s.kind));
      continue;
    }
    Nest nest{i, {}};
    if (const std::string why = find_nest(f, s.loop.get(), nest); !why.empty()) {
      if (m.problem.empty()) m.problem = why;
      m.single.push_back(why);
      continue;
    }
    m.depth = std::max(m.depth, nest.loops.size());
    m.nests.push_back(std::move(nest));
  }
  if (m.nests.empty()) return m;
  m.problem.clear();
  // Several launches, unless the body is lets and one loop: each must see all it uses.
  if (body.size() - lets > 1) {
    Function split = f;
    std::set<std::string> names = names_in(f);
    for (const Nest& nest : m.nests) split.body[nest.statement] = map_nest(nest, {{1, 1, 1}}, names);
    if (const std::string why = device_split_problem(split); !why.empty()) {
      m = Mapping{};
      m.problem = "its body cannot run as several launches: " + why;
    }
  }
  return m;
}

const std::vector<std::array<std::int64_t, 3>>& shapes_for(const GpuMapOptions& options, std::size_t depth) {
  return depth == 1 ? options.shapes_1d : depth == 2 ? options.shapes_2d : options.shapes_3d;
}

// `f` with its nests rewritten: variant k gives the deepest nests the k-th
// shape of their depth (its name says which) and every other nest the k-th
// of its own depth, or the last where its depth has fewer.
Function map_function(const Function& f, const Mapping& mapping, std::size_t k, const GpuMapOptions& options) {
  std::set<std::string> names = names_in(f);
  Function out = f;
  for (const Nest& nest : mapping.nests) {
    const auto& shapes = shapes_for(options, nest.loops.size());
    out.body[nest.statement] = map_nest(nest, shapes[std::min(k, shapes.size() - 1)], names);
  }
  const auto& shape = shapes_for(options, mapping.depth)[k];
  out.name = f.name + "_b" + std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
  verify(out);  // as after every pass (DESIGN.md §5)
  return out;
}

// What becomes of each function of a module.
struct Plan {
  std::vector<Mapping> mappings;  // per function
  std::size_t depth = 0;          // the deepest nest
  bool drop_shallower = false;
};

Plan plan(const Module& module) {
  Plan p;
  bool deepest_always_runs = false;
  for (const Function& f : module.functions) {
    p.mappings.push_back(find_mapping(f));
    const std::size_t d = p.mappings.back().depth;
    if (d > p.depth) deepest_always_runs = false;
    if (d >= p.depth) {
      p.depth = d;
      deepest_always_runs |= !f.requires_;
    }
  }
  // A shallower variant is slower on a GPU, but leaving it out must not leave
  // a call without a variant whose run check passes.
  p.drop_shallower = p.depth > 0 && deepest_always_runs;
  return p;
}

}  // namespace

psir::Module map_to_gpu(const psir::Module& module, const GpuMapOptions& options) {
  for (const auto* shapes : {&options.shapes_1d, &options.shapes_2d, &options.shapes_3d}) {
    for (const auto& shape : *shapes) {
      for (std::int64_t extent : shape) {
        if (extent < 1) throw Error(ASP_ERR_INVALID_ARGUMENT, "a block shape has an extent below 1");
      }
    }
  }
  const Plan p = plan(module);
  Module out;
  for (std::size_t i = 0; i < module.functions.size(); ++i) {
    const Function& f = module.functions[i];
    const Mapping& mapping = p.mappings[i];
    if (mapping.nests.empty()) {
      if (!p.drop_shallower) out.functions.push_back(f);
      continue;
    }
    if (mapping.depth < p.depth && p.drop_shallower) continue;
    for (const Nest& nest : mapping.nests) {
      if (shapes_for(options, nest.loops.size()).empty()) {
        throw Error(ASP_ERR_INVALID_ARGUMENT, "no block shapes for a nest of " + std::to_string(nest.loops.size()) + " loops");
      }
    }
    for (std::size_t k = 0; k < shapes_for(options, mapping.depth).size(); ++k) {
      out.functions.push_back(map_function(f, mapping, k, options));
    }
  }
  return out;
}

std::string gpu_map_problem(const psir::Function& function) { return find_mapping(function).problem; }

std::string GpuMapOptimizer::run(asp::Call& call, std::string_view text) {
  const Module module = read_psir(text);
  const Plan p = plan(module);
  for (std::size_t i = 0; i < module.functions.size(); ++i) {
    const std::string& name = module.functions[i].name;
    const Mapping& mapping = p.mappings[i];
    if (mapping.nests.empty() && !p.drop_shallower) {
      call.log(ASP_LOG_INFO, "function '" + name + "' runs as a single device thread: " + mapping.problem);
    } else if (mapping.depth < p.depth && p.drop_shallower) {
      call.log(ASP_LOG_DEBUG, "function '" + name + "' is left out: another variant maps " + std::to_string(p.depth) +
                                  " loops onto the grid, it " + std::to_string(mapping.depth));
    } else if (!mapping.nests.empty()) {
      for (const std::string& why : mapping.single) {
        call.log(ASP_LOG_INFO, "function '" + name + "' runs as launches in order, " + std::to_string(mapping.nests.size()) +
                                   " of them mapped onto the grid; one runs as a single device thread: " + why);
      }
    }
  }
  Module mapped;
  try {
    mapped = map_to_gpu(module, options_);
    verify(mapped);
  } catch (const VerifyError& e) {
    throw Error(ASP_ERR_INTERNAL, std::string("GPU mapping produced invalid PSIR: ") + e.what());
  }
  return print(mapped);
}

}  // namespace asp::backends
