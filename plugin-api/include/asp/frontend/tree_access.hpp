// asp/frontend/tree_access.hpp — reading a Tree (asp/tree.hpp) in a frontend,
// with errors that say where: the frontend kit's first part (DESIGN.md §5).
//
// Three kinds of failure reach the user differently:
//   - the kernel uses Python the domain does not specialize: `unsupported`
//     (ASP_ERR_UNSUPPORTED, the message ending " at line N", the location
//     pointing at the node), after which the caller runs the function as Python;
//   - the kernel would be wrong to run at all (it would read outside an
//     array): `invalid` (ASP_ERR_INVALID_ARGUMENT, located the same way);
//   - the Tree is not what the binding sends (a field missing, a node where a
//     list belongs): `malformed` (ASP_ERR_INVALID_ARGUMENT, "malformed tree: ...").
// The accessors below raise the last kind, so a frontend reads fields
// without checking each one.
#pragma once

#include <asp/plugin.hpp>
#include <asp/tree.hpp>

#include <set>
#include <string>
#include <string_view>

namespace asp::frontend_kit {

using tree::List;
using tree::Node;
using tree::Value;

// ---- located errors ------------------------------------------------------------------------

// Where a node is, for asp::Error: Python's 0-based column becomes a 1-based one;
// a node without a position (line 0) has none.
inline Location location_of(const Node& n) { return Location{"", n.line, n.line ? n.column + 1 : 0}; }

// " at line N", or nothing for a node without a position.
inline std::string at_line(const Node& n) { return n.line ? " at line " + std::to_string(n.line) : ""; }

// The kernel uses something the domain does not specialize: Python runs it.
[[noreturn]] inline void unsupported(const Node& n, const std::string& what) {
  throw Error(ASP_ERR_UNSUPPORTED, what + at_line(n), location_of(n));
}

// The kernel would be wrong to run at all (say, it would read outside an array).
[[noreturn]] inline void invalid(const Node& n, const std::string& what) {
  throw Error(ASP_ERR_INVALID_ARGUMENT, what + at_line(n), location_of(n));
}

// The Tree itself is not what the binding sends.
[[noreturn]] inline void malformed(const std::string& what) {
  throw Error(ASP_ERR_INVALID_ARGUMENT, "malformed tree: " + what);
}

// ---- reading the tree ----------------------------------------------------------------------

// Parses the Tree text a frontend is given; a parse error is a malformed tree.
inline Value parse(std::string_view text) {
  try {
    return tree::parse(text);
  } catch (const tree::ParseError& e) {
    malformed(e.what());
  }
}

// The field `name` of `n`, which must be present.
inline const Value& field(const Node& n, std::string_view name) {
  const Value* v = n.field(name);
  if (!v) malformed(n.kind + " has no field '" + std::string(name) + "'");
  return *v;
}

// The node in field `name`.
inline const Node& child(const Node& n, std::string_view name) {
  const Node* c = field(n, name).node();
  if (!c) malformed("field '" + std::string(name) + "' of " + n.kind + " is not a node");
  return *c;
}

// The list in field `name`.
inline const List& items(const Node& n, std::string_view name) {
  const List* l = field(n, name).list();
  if (!l) malformed("field '" + std::string(name) + "' of " + n.kind + " is not a list");
  return *l;
}

// An element of a list of nodes (a body's statements, a call's arguments).
inline const Node& item(const Value& v) {
  if (!v.node()) malformed("a list holds something other than a node");
  return *v.node();
}

// The string in field `name` (a Name's id, an attribute's name).
inline std::string text(const Node& n, std::string_view name) {
  const std::string* s = field(n, name).string();
  if (!s) malformed("field '" + std::string(name) + "' of " + n.kind + " is not a string");
  return *s;
}

// True when field `name` is absent, not a list, or an empty list: how an
// optional part (keywords, orelse, decorators) that was not written arrives.
inline bool empty_list(const Node& n, std::string_view name) {
  const Value* v = n.field(name);
  return !v || !v->list() || v->list()->empty();
}

// The index of a subscript; Python 3.8 wraps it in an Index node.
inline const Node& slice_of(const Node& subscript) {
  const Node& s = child(subscript, "slice");
  return s.kind == "Index" ? child(s, "value") : s;
}

// A Name or dotted Attribute chain as written, for messages: "self.constants",
// "math.sqrt(...)", "a[...]"; any other expression by its kind.
inline std::string source(const Node& n) {
  if (n.kind == "Name") return text(n, "id");
  if (n.kind == "Attribute") return source(child(n, "value")) + "." + text(n, "attr");
  if (n.kind == "Call") return source(child(n, "func")) + "(...)";
  if (n.kind == "Subscript") return source(child(n, "value")) + "[...]";
  return n.kind;
}

// The plain names that the statements of `body` assign (`x = ...`, `x += ...`,
// `x: T = ...`, `for x in ...`), nested bodies included: as in Python, each is
// a local of the whole function, from its first line on.
inline std::set<std::string> assigned_names(const List& body) {
  std::set<std::string> names;
  auto target = [&](const Node& t) {
    if (t.kind == "Name") names.insert(text(t, "id"));
  };
  for (const Value& v : body) {
    const Node& s = item(v);
    if (s.kind == "Assign") {
      for (const Value& t : items(s, "targets")) target(item(t));
    } else if (s.kind == "AugAssign" || s.kind == "AnnAssign" || s.kind == "For") {
      target(child(s, "target"));
    }
    for (const char* nested : {"body", "orelse"}) {
      if (const Value* n = s.field(nested); n && n->list()) names.merge(assigned_names(*n->list()));
    }
  }
  return names;
}

}  // namespace asp::frontend_kit
