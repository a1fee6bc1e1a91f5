// The errors a specialization or a kernel call reports to its caller. Each
// stands for one Python exception, which the binding raises for it:
// Unsupported (asp UnsupportedError, so the caller falls back to Python),
// InvalidArgument (ValueError), ArgumentTypeError (TypeError) and KernelFault
// (IndexError or ZeroDivisionError).
#pragma once

#include "asp/core/diagnostic.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

namespace asp::core {

// A frontend cannot specialize a construct of the user's function (ASP_ERR_UNSUPPORTED),
// or no frontend serves the domain.
class Unsupported : public std::runtime_error {
 public:
  Unsupported(const std::string& reason, Origin where = {}) : std::runtime_error(reason), where_(std::move(where)) {}
  // The user's construct (line and column as the plugin reported them); empty when there is none.
  const Origin& where() const { return where_; }

 private:
  Origin where_;
};

// Arguments a component or the binding rejects by value: a shape, an extent
// two arguments disagree on, a neighbour offset outside the ghost zone
// (ASP_ERR_INVALID_ARGUMENT).
class InvalidArgument : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Arguments of the wrong kind or type for a kernel: a scalar for an array, another dtype, another count.
class ArgumentTypeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A kernel stopped with an error status of the C entry convention; nothing
// was accessed out of bounds (the generated code checks before it reads).
class KernelFault : public std::runtime_error {
 public:
  // value_error and overflow_error (ABI 1.3): where Python raises ValueError
  // or OverflowError (a math domain or range error, int() of nan or inf).
  enum class Kind { out_of_bounds, zero_division, other, value_error, overflow_error };
  KernelFault(Kind kind, int status, const std::string& message)
      : std::runtime_error(message), kind_(kind), status_(status) {}
  Kind kind() const { return kind_; }
  int status() const { return status_; }

 private:
  Kind kind_;
  int status_;
};

}  // namespace asp::core
