// The IR toolkit (<asp/ir_visit.hpp>) on PSIR: default recursion, a pass
// that overrides one kind, sharing of what a mutator leaves alone, the
// spelling tables, and exhaustive walkers that fail loudly on a kind they do
// not know.
#include <asp/ir_visit.hpp>
#include <asp/psir.hpp>
#include <asp/psir_passes.hpp>
#include <asp/psir_text.hpp>

#include "kernels.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>

namespace {

using namespace asp::psir;

// Every expression kind reached with no handler but the default recursion.
struct CountKinds : ExprWalker<CountKinds> {
  void otherwise(const ExprPtr& e) {
    ++count[e->kind];
    descend(e);
  }
  std::map<Expr::Kind, int> count;
};

TEST(IrVisit, WalkerDefaultRecursionReachesEveryNode) {
  // select(x < 1, neg(sqrt(b[i])), f64(i))
  const ExprPtr e = select(binary(BinaryOp::lt, var("x", Type::f64), f64(1)),
                           unary(UnaryOp::neg, call(Intrinsic::sqrt, {load("b", Type::f64, {var("i", Type::i64)})})),
                           cast(Type::f64, var("i", Type::i64)));
  CountKinds walker;
  walker.visit(e);
  EXPECT_EQ(walker.count[Expr::Kind::select], 1);
  EXPECT_EQ(walker.count[Expr::Kind::binary], 1);
  EXPECT_EQ(walker.count[Expr::Kind::var], 3);
  EXPECT_EQ(walker.count[Expr::Kind::constant], 1);
  EXPECT_EQ(walker.count[Expr::Kind::unary], 1);
  EXPECT_EQ(walker.count[Expr::Kind::call], 1);
  EXPECT_EQ(walker.count[Expr::Kind::load], 1);
  EXPECT_EQ(walker.count[Expr::Kind::cast], 1);
}

// A pass that cares about one kind only: the loads, wherever they are.
struct Loads : StmtWalker<Loads> {
  struct InExpr : ExprWalker<InExpr> {
    explicit InExpr(std::set<std::string>& b) : buffers(b) {}
    void on_load(const ExprPtr& e) {
      buffers.insert(e->name);
      descend(e);  // an index may load too
    }
    std::set<std::string>& buffers;
  };
  void expr(const ExprPtr& e) { InExpr(buffers).visit(e); }
  std::set<std::string> buffers;
};

TEST(IrVisit, StatementWalkerSeesExpressionsOfNestedBlocks) {
  Loads loads;
  loads.block(asp::test::gather().body);
  EXPECT_EQ(loads.buffers, (std::set<std::string>{"index", "table"}));  // table[i64(index[i])]
}

TEST(IrVisit, MutatorSharesWhatItLeavesAlone) {
  const ExprPtr untouched = mul(var("a", Type::i64), i64(3));
  const ExprPtr e = add(untouched, sub(var("n", Type::i64), i64(1)));
  // Replaces n by 10; the left operand has no n and must be the same node afterwards.
  struct Bind : ExprMutator<Bind> {
    ExprPtr on_var(const ExprPtr& v) { return v->name == "n" ? i64(10) : v; }
  } bind;
  const ExprPtr out = bind.mutate(e);
  EXPECT_NE(out, e);
  EXPECT_EQ(out->args[0], untouched);
  EXPECT_EQ(print(out), "((a * 3:i64) + (10:i64 - 1:i64))");
  EXPECT_EQ(print(e), "((a * 3:i64) + (n - 1:i64))");  // the input is not changed

  struct Nothing : ExprMutator<Nothing> {};
  EXPECT_EQ(Nothing().mutate(e), e);  // nothing changed: the very same tree
}

TEST(IrVisit, StatementMutatorSharesUnchangedLoops) {
  const Function f = asp::test::laplacian3d();
  struct Identity : StmtMutator<Identity> {};
  const Block same_body = Identity().block(f.body);
  ASSERT_EQ(same_body.size(), f.body.size());
  for (std::size_t i = 0; i < f.body.size(); ++i) {
    if (f.body[i].loop) {
      EXPECT_EQ(same_body[i].loop, f.body[i].loop);
    }
    EXPECT_EQ(same_body[i].value, f.body[i].value);
  }
  // Two sibling loops: a change inside the second leaves the first shared.
  Loop first{"i", i64(0), i64(4), 1, LoopKind::serial, 0, {make_store("out", {var("i", Type::i64)}, f64(1))}};
  Loop second{"j", i64(0), i64(4), 1, LoopKind::serial, 0, {make_store("out", {var("j", Type::i64)}, f64(2))}};
  const Block body{make_loop(first), make_loop(second)};
  const Block out = substitute(body, "j", i64(3));
  EXPECT_EQ(out[0].loop, body[0].loop);
  EXPECT_NE(out[1].loop, body[1].loop);
  EXPECT_EQ(print(out[1].loop->body[0].indices[0]), "3:i64");
}

// A mutator that overrides one statement kind: every store goes to another buffer, wherever it is.
TEST(IrVisit, MutatorOverridingOneKindRewritesItAtEveryDepth) {
  const Function f = asp::test::every_node();
  struct Redirect : StmtMutator<Redirect> {
    void on_store(const Stmt& s, Block& out) {
      Stmt c = rebuild(s);
      c.name = "elsewhere";
      out.push_back(std::move(c));
    }
  };
  const Block out = Redirect().block(f.body);
  const std::vector<std::string> before = stored_buffers(f.body), after = stored_buffers(out);
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(after, std::vector<std::string>{"elsewhere"});
  // Everything else prints as it did.
  Function g = f;
  g.body = out;
  std::string expected = print(Module{{f}});
  for (const std::string& b : before) {
    for (std::size_t at; (at = expected.find("store " + b + "[")) != std::string::npos;) {
      expected.replace(at, 6 + b.size() + 1, "store elsewhere[");
    }
  }
  EXPECT_EQ(print(Module{{g}}), expected);
}

TEST(IrVisit, HostWalkerRecursesIntoLoopsAndIfs) {
  const Module m = parse(
      "asp-ir 2 psir\n"
      "kernel step(x: buffer f64[n], n: i64) writes(x)\n"
      "kernel check(x: buffer f64[n], n: i64) writes(x)\n"
      "func step_a(x: buffer f64[n], n: i64) of step {\n"
      "}\n"
      "func check_a(x: buffer f64[n], n: i64) of check {\n"
      "}\n"
      "program(x: buffer f64[n], n: i64) {\n"
      "  for it in 0:i64 .. 3:i64 {\n"
      "    launch step(x, n)\n"
      "    if (x[0:i64] < 1:f64) {\n"
      "      launch check(x, n)\n"
      "    } else {\n"
      "      comm allreduce_sum(x, n)\n"
      "      break\n"
      "    }\n"
      "  }\n"
      "}\n");
  struct Visited : HostWalker<Visited> {
    void on_launch(const HostStmt& s) { seen.push_back("launch " + s.name); }
    void on_comm(const HostStmt& s) { seen.push_back("comm " + s.name); }
    void on_break(const HostStmt&) { seen.push_back("break"); }
    std::vector<std::string> seen;
  } visited;
  visited.block(m.program->schedule);
  EXPECT_EQ(visited.seen, (std::vector<std::string>{"launch step", "launch check", "comm allreduce_sum", "break"}));
}

TEST(IrVisit, ExhaustiveWalkerThrowsOnAnUnknownKind) {
  Stmt odd = make_store("out", {i64(0)}, f64(1));
  odd.kind = static_cast<Stmt::Kind>(99);  // a kind no dispatch knows
  const Block block{make_if(boolean(true), {odd})};
  EXPECT_THROW(stored_buffers(block), std::logic_error);
  try {
    stored_buffers(block);
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown PSIR statement kind 99"), std::string::npos) << e.what();
  }
  Expr bad{Expr::Kind::constant, Type::i64};
  bad.kind = static_cast<Expr::Kind>(42);
  CountKinds walker;
  EXPECT_THROW(walker.visit(make(bad)), std::logic_error);
}

TEST(IrVisit, EverySpellingParsesBack) {
  for (const auto& s : binary_ops) {
    EXPECT_EQ(parse_binary_op(spelling(s.value)), s.value);
    EXPECT_EQ(asp::ir::symbol(binary_ops, s.value), s.text);  // C spells them alike
  }
  for (const auto& s : unary_ops) EXPECT_EQ(parse_unary_op(spelling(s.value)), s.value);
  EXPECT_EQ(c_symbol(UnaryOp::neg), "-");
  EXPECT_EQ(c_symbol(UnaryOp::not_), "!");
  EXPECT_EQ(c_symbol(UnaryOp::bitnot), "~");
  for (const auto& s : reduce_ops) EXPECT_EQ(parse_reduce_op(spelling(s.value)), s.value);
  for (const IntrinsicInfo& i : intrinsics) {
    EXPECT_EQ(parse_intrinsic(i.name), i.id);
    EXPECT_EQ(spelling(i.id), i.name);
  }
  EXPECT_EQ(parse_binary_op("//"), std::nullopt);
  EXPECT_EQ(parse_intrinsic("hypot"), std::nullopt);
}

}  // namespace
