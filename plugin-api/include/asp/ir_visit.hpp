// asp/ir_visit.hpp — the IR toolkit every IR is built on (DESIGN.md §5, §12):
// PSIR, its host schedule, and each domain's DSIR.
//
// An IR plugs into the kit with, found by argument-dependent lookup in its
// own namespace:
//
//   dispatch(v, node, extra...)   one switch over the node's kind that calls
//                                 v.on_<kind>(node, extra...) — the only place
//                                 an IR lists its kinds; it ends in
//                                 ir::unknown_kind() for a value outside the enum;
//   children(stmt, on_expr, on_block)          what a statement holds;
//   rebuild_children(stmt, on_expr, on_block)  a copy with its expressions and
//                                 blocks replaced, sharing whatever did not change.
//
// Expression nodes have `kind` and `args` (their operands as
// std::shared_ptr<const Node>): they are shared immutable trees.
//
// A visitor derives from one of the bases below (CRTP) and defines public
// handlers only for the kinds it cares about; every other kind takes the
// default, which recurses into the node's children (a walker) or rebuilds the
// node from its rewritten children, sharing it when none changed (a mutator).
// A visitor that must see every kind (which buffers a kernel writes, which
// loops are parallel, what a device copies back) also derives from
// ir::Exhaustive: a kind without a handler is then
// a compile error, and a kind value outside the enum throws at run time.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace asp::ir {

// ---- spelling tables --------------------------------------------------------------
//
// One table per enum (operators, intrinsics): its text form, which the text
// printers and parsers use and, where the IR's spelling is the target's, the
// code generators too.

template <class E>
struct Spelling {
  E value;
  std::string_view text;    // the IR's text form
  std::string_view symbol{};  // the operator sign in C-family code where it differs from `text`
};

template <class E, std::size_t N>
constexpr std::string_view spell(const Spelling<E> (&table)[N], E value) {
  for (const Spelling<E>& s : table) {
    if (s.value == value) return s.text;
  }
  return "?";
}

template <class E, std::size_t N>
constexpr std::string_view symbol(const Spelling<E> (&table)[N], E value) {
  for (const Spelling<E>& s : table) {
    if (s.value == value) return s.symbol.empty() ? s.text : s.symbol;
  }
  return "?";
}

template <class E, std::size_t N>
constexpr std::optional<E> parse(const Spelling<E> (&table)[N], std::string_view text) {
  for (const Spelling<E>& s : table) {
    if (s.text == text) return s.value;
  }
  return std::nullopt;
}

// ---- dispatch ---------------------------------------------------------------------

// A kind value that is none of its enum's (a corrupted node, a kind added to
// the enum but not to the IR's dispatch): never ignored.
[[noreturn]] inline void unknown_kind(const char* what, int kind) {
  throw std::logic_error(std::string("IR visitor: unknown ") + what + " kind " + std::to_string(kind));
}

// The mark of a visitor that must see every node kind: derive from it too.
struct Exhaustive {};

template <class V>
constexpr bool is_exhaustive() {
  return std::is_base_of_v<Exhaustive, V>;
}

}  // namespace asp::ir

// Used by an IR's dispatch(): calls v.HANDLER(args...) when the visitor has
// that handler, else its default v.otherwise(args...) — unless the visitor is
// exhaustive, where a missing handler does not compile.
#define ASP_IR_ON(v, HANDLER, ...)                                                                             \
  [&]() -> decltype(auto) {                                                                                    \
    if constexpr (requires { v.HANDLER(__VA_ARGS__); }) {                                                      \
      return v.HANDLER(__VA_ARGS__);                                                                           \
    } else {                                                                                                   \
      static_assert(!::asp::ir::is_exhaustive<std::remove_cvref_t<decltype(v)>>(),                             \
                    "an exhaustive IR visitor must handle every node kind; this one has no " #HANDLER);        \
      return v.otherwise(__VA_ARGS__);                                                                         \
    }                                                                                                          \
  }()

namespace asp::ir {

// ---- expressions ----------------------------------------------------------------------

template <class Node>
using Ptr = std::shared_ptr<const Node>;

// The node a handle names: a dispatch() may take nodes by pointer or by reference.
template <class Node>
const Node& deref(const Ptr<Node>& e) {
  return *e;
}
template <class Node>
const Node& deref(const Node& e) {
  return e;
}

// `e` with each operand replaced by `child(operand)`: `e` itself when no
// operand changed, else a copy that shares the operands that did not.
template <class Node, class Child>
Ptr<Node> with_operands(const Ptr<Node>& e, Child&& child) {
  std::vector<Ptr<Node>> args;
  bool changed = false;
  for (std::size_t i = 0; i < e->args.size(); ++i) {
    Ptr<Node> a = child(e->args[i]);
    if (a != e->args[i] && !changed) {
      changed = true;
      args.assign(e->args.begin(), e->args.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (changed) args.push_back(std::move(a));
  }
  if (!changed) return e;
  Node copy = *e;
  copy.args = std::move(args);
  return std::make_shared<const Node>(std::move(copy));
}

// Visits an expression tree. Default: visit every operand (pre-order).
template <class Derived, class Node>
class ExprWalker {
 public:
  void visit(const Ptr<Node>& e) {
    if (e) dispatch(self(), e);
  }
  void otherwise(const Ptr<Node>& e) { descend(e); }
  void descend(const Ptr<Node>& e) {
    for (const Ptr<Node>& a : e->args) visit(a);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// Rewrites an expression tree. Default: rebuild the node from its rewritten
// operands, or return it as it is when no operand changed.
template <class Derived, class Node>
class ExprMutator {
 public:
  Ptr<Node> mutate(const Ptr<Node>& e) { return e ? dispatch(self(), e) : e; }
  Ptr<Node> otherwise(const Ptr<Node>& e) { return rebuild(e); }
  Ptr<Node> rebuild(const Ptr<Node>& e) {
    return with_operands(e, [&](const Ptr<Node>& a) { return mutate(a); });
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// Every node of `e` in pre-order, to `f(const Node&)`.
template <class Node, class F>
void walk(const Ptr<Node>& e, F&& f) {
  if (!e) return;
  f(*e);
  for (const Ptr<Node>& a : e->args) walk(a, f);
}

// `e` rebuilt bottom-up: `f(Ptr)` sees each node after its operands were
// rewritten and returns its replacement; unchanged subtrees are shared.
template <class Node, class F>
Ptr<Node> rewrite(const Ptr<Node>& e, F&& f) {
  struct Bottom_up {
    F& f;
    Ptr<Node> go(const Ptr<Node>& n) {
      return n ? f(with_operands(n, [&](const Ptr<Node>& a) { return go(a); })) : n;
    }
  };
  return Bottom_up{f}.go(e);
}

// A visitor that computes a value per node (a printer, an evaluator, a type
// checker): one handler per kind it knows, otherwise(e) for the rest, or
// exhaustive.
template <class Derived, class Node, class R>
class ExprFunction {
 public:
  R visit(const Ptr<Node>& e) { return dispatch(static_cast<Derived&>(*this), e); }
};

// ---- statements ---------------------------------------------------------------------------

// Visits a block of statements. Default for a statement: its expressions go
// to expr() (which does nothing unless overridden), its nested blocks to block().
template <class Derived, class S>
class StmtWalker {
 public:
  void block(const std::vector<S>& b) {
    for (const S& s : b) stmt(s);
  }
  void stmt(const S& s) { dispatch(self(), s); }
  void otherwise(const S& s) { descend(s); }
  void descend(const S& s) {
    children(s, [&](const auto& e) { self().expr(e); }, [&](const std::vector<S>& b) { self().block(b); });
  }
  template <class E>
  void expr(const E&) {}

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// Rewrites a block. A handler appends what replaces its statement to `out`
// (nothing to drop it, several to expand it). Default: the statement with its
// expressions passed through expr() (identity unless overridden) and its
// blocks through block(), shared where nothing changed.
template <class Derived, class S>
class StmtMutator {
 public:
  std::vector<S> block(const std::vector<S>& b) {
    std::vector<S> out;
    out.reserve(b.size());
    for (const S& s : b) stmt(s, out);
    return out;
  }
  void stmt(const S& s, std::vector<S>& out) { dispatch(self(), s, out); }
  void otherwise(const S& s, std::vector<S>& out) { out.push_back(rebuild(s)); }
  S rebuild(const S& s) {
    return rebuild_children(s, [&](const auto& e) { return self().expr(e); },
                            [&](const std::vector<S>& b) { return self().block(b); });
  }
  template <class E>
  E expr(const E& e) {
    return e;
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace asp::ir
