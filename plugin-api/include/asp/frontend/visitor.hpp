// asp/frontend/visitor.hpp — dispatch on a Tree node's kind, for a frontend
// that translates statements and expressions: each kind it handles has a
// handler; any other kind fails with a located Unsupported error that names
// the construct ("'while' loops are not supported at line 4"), so a Python
// construct the domain never thought of makes Python run the function instead
// of being skipped.
#pragma once

#include <asp/frontend/tree_access.hpp>

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace asp::frontend_kit {

// Where a node stands, which decides how an unhandled kind is named.
enum class Construct { statement, expression };

// What the user reads for a construct of `kind` that is not specialized.
inline std::string unsupported_message(std::string_view kind, Construct where) {
  if (where == Construct::statement) {
    static const std::map<std::string, std::string, std::less<>> statements = {
        {"While", "'while' loops are not supported"},
        {"Break", "'break' is not supported"},
        {"Continue", "'continue' is not supported"},
        {"Return", "'return' is not supported"},
        {"Raise", "'raise' is not supported"},
        {"Try", "'try' is not supported"},
        {"TryStar", "'try' is not supported"},
        {"With", "'with' is not supported"},
        {"AsyncWith", "'async with' is not supported"},
        {"AsyncFor", "'async for' is not supported"},
        {"Assert", "'assert' is not supported"},
        {"Delete", "'del' is not supported"},
        {"Global", "'global' is not supported"},
        {"Nonlocal", "'nonlocal' is not supported"},
        {"Import", "'import' is not supported"},
        {"ImportFrom", "'import' is not supported"},
        {"FunctionDef", "nested functions are not supported"},
        {"AsyncFunctionDef", "nested functions are not supported"},
        {"ClassDef", "nested classes are not supported"},
        {"AnnAssign", "annotated assignments are not supported"},
        {"Match", "'match' is not supported"},
    };
    auto it = statements.find(kind);
    return it != statements.end() ? it->second : "'" + std::string(kind) + "' statements are not supported";
  }
  if (kind == "Lambda") return "lambda is not supported";
  if (kind == "ListComp" || kind == "SetComp" || kind == "DictComp" || kind == "GeneratorExp") {
    return "comprehensions are not supported";
  }
  return "'" + std::string(kind) + "' expressions are not supported";
}

// Fails with the located Unsupported error for `n` standing as `where`.
[[noreturn]] inline void unsupported_construct(const Node& n, Construct where) {
  unsupported(n, unsupported_message(n.kind, where));
}

// Calls the handler registered for a node's kind with the node and `Args`;
// a kind without one fails with unsupported_construct, or goes to the
// handler given to otherwise(). A frontend typically holds one visitor for
// statements and one for expressions, its handlers lambdas over its own state.
template <class Result, class... Args>
class Visitor {
 public:
  using Handler = std::function<Result(const Node&, Args...)>;

  explicit Visitor(Construct where) : where_(where) {}

  // Handles `kind` with `handler`, replacing an earlier one.
  Visitor& on(std::string_view kind, Handler handler) {
    handlers_.insert_or_assign(std::string(kind), std::move(handler));
    return *this;
  }
  Visitor& on(std::initializer_list<std::string_view> kinds, const Handler& handler) {
    for (std::string_view kind : kinds) on(kind, handler);
    return *this;
  }
  // What handles the kinds that have no handler of their own, instead of the error.
  Visitor& otherwise(Handler handler) {
    fallback_ = std::move(handler);
    return *this;
  }

  bool handles(std::string_view kind) const { return handlers_.find(kind) != handlers_.end(); }

  Result operator()(const Node& n, Args... args) const {
    auto it = handlers_.find(n.kind);
    if (it != handlers_.end()) return it->second(n, std::forward<Args>(args)...);
    if (fallback_) return fallback_(n, std::forward<Args>(args)...);
    unsupported_construct(n, where_);
  }

 private:
  Construct where_;
  std::map<std::string, Handler, std::less<>> handlers_;
  Handler fallback_;
};

}  // namespace asp::frontend_kit
