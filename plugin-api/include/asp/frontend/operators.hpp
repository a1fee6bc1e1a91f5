// asp/frontend/operators.hpp — Python's operators as the Tree names them (the
// ast classes Add, Sub, ... Eq, Lt, ... And, Not, ...), described once: what
// it is, how it is written, which family it belongs to. A domain maps the
// ones it supports onto its own IR's operators and names the others in its
// messages by their symbol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace asp::frontend_kit {

enum class Operator : std::uint8_t {
  // BinOp
  add, sub, mult, mat_mult, div, floor_div, mod, pow, lshift, rshift, bit_or, bit_xor, bit_and,
  // UnaryOp
  invert, not_, uadd, usub,
  // Compare
  eq, not_eq_, lt, lt_e, gt, gt_e, is, is_not, in, not_in,
  // BoolOp
  and_, or_,
};

enum class OperatorFamily : std::uint8_t {
  arithmetic,  // + - * @ / // % **
  bitwise,     // << >> | ^ & ~
  unary,       // unary + and -
  comparison,  // == != < <= > >=
  identity,    // is, is not
  membership,  // in, not in
  logical,     // and, or, not (short-circuiting or giving a truth value)
};

struct OperatorInfo {
  Operator op;
  std::string_view ast;     // Python's ast class name, the Tree node's kind
  std::string_view symbol;  // as written in Python source
  OperatorFamily family;
};

inline constexpr OperatorInfo python_operators[] = {
    {Operator::add, "Add", "+", OperatorFamily::arithmetic},
    {Operator::sub, "Sub", "-", OperatorFamily::arithmetic},
    {Operator::mult, "Mult", "*", OperatorFamily::arithmetic},
    {Operator::mat_mult, "MatMult", "@", OperatorFamily::arithmetic},
    {Operator::div, "Div", "/", OperatorFamily::arithmetic},
    {Operator::floor_div, "FloorDiv", "//", OperatorFamily::arithmetic},
    {Operator::mod, "Mod", "%", OperatorFamily::arithmetic},
    {Operator::pow, "Pow", "**", OperatorFamily::arithmetic},
    {Operator::lshift, "LShift", "<<", OperatorFamily::bitwise},
    {Operator::rshift, "RShift", ">>", OperatorFamily::bitwise},
    {Operator::bit_or, "BitOr", "|", OperatorFamily::bitwise},
    {Operator::bit_xor, "BitXor", "^", OperatorFamily::bitwise},
    {Operator::bit_and, "BitAnd", "&", OperatorFamily::bitwise},
    {Operator::invert, "Invert", "~", OperatorFamily::bitwise},
    {Operator::not_, "Not", "not", OperatorFamily::logical},
    {Operator::uadd, "UAdd", "+", OperatorFamily::unary},
    {Operator::usub, "USub", "-", OperatorFamily::unary},
    {Operator::eq, "Eq", "==", OperatorFamily::comparison},
    {Operator::not_eq_, "NotEq", "!=", OperatorFamily::comparison},
    {Operator::lt, "Lt", "<", OperatorFamily::comparison},
    {Operator::lt_e, "LtE", "<=", OperatorFamily::comparison},
    {Operator::gt, "Gt", ">", OperatorFamily::comparison},
    {Operator::gt_e, "GtE", ">=", OperatorFamily::comparison},
    {Operator::is, "Is", "is", OperatorFamily::identity},
    {Operator::is_not, "IsNot", "is not", OperatorFamily::identity},
    {Operator::in, "In", "in", OperatorFamily::membership},
    {Operator::not_in, "NotIn", "not in", OperatorFamily::membership},
    {Operator::and_, "And", "and", OperatorFamily::logical},
    {Operator::or_, "Or", "or", OperatorFamily::logical},
};

// The operator a Tree operator node's kind names, or nullptr for a kind that is none.
constexpr const OperatorInfo* python_operator(std::string_view ast_kind) {
  for (const OperatorInfo& o : python_operators) {
    if (o.ast == ast_kind) return &o;
  }
  return nullptr;
}

// The table lists the operators in the enumeration's order, so an operator is its own row's index.
constexpr bool rows_in_enum_order() {
  for (std::size_t k = 0; k < std::size(python_operators); ++k) {
    if (static_cast<std::size_t>(python_operators[k].op) != k) return false;
  }
  return true;
}
static_assert(rows_in_enum_order() && std::size(python_operators) == static_cast<std::size_t>(Operator::or_) + 1);

constexpr const OperatorInfo& describe(Operator op) { return python_operators[static_cast<std::size_t>(op)]; }

// How an operator node's kind is written in Python, for messages; a kind that
// is no operator is shown as it is.
constexpr std::string_view operator_symbol(std::string_view ast_kind) {
  const OperatorInfo* o = python_operator(ast_kind);
  return o ? o->symbol : ast_kind;
}

}  // namespace asp::frontend_kit
