// Must NOT compile (CTest ir_visit.exhaustive_visitor_missing_a_kind checks
// the compiler's message): an exhaustive walker that forgets a statement kind.
#include <asp/psir.hpp>

namespace {

using namespace asp::psir;

struct Forgetful : StmtWalker<Forgetful>, asp::ir::Exhaustive {
  void on_loop(const Stmt& s) { descend(s); }
  void on_let(const Stmt&) {}
  void on_decl(const Stmt&) {}
  void on_assign(const Stmt&) {}
  void on_reduce(const Stmt&) {}
  void on_store(const Stmt&) {}
  // no on_if: a store inside an if would be missed
};

}  // namespace

int main() {
  Forgetful().block(Block{});
  return 0;
}
