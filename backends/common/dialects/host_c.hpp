// What the two host C dialects (c_openmp.cpp, c_pthreads.cpp) share: C11 as
// gcc and clang compile it, freestanding (see c_codegen.hpp). They differ in
// how the outermost parallel loop runs and what its runtime declares.
#pragma once

#include "../c_family_codegen.hpp"

namespace asp::backends {

class HostCDialect : public Dialect {
 public:
  std::string prelude() const override;
  std::string runtime(const std::string& functions) const override;

  bool device() const override { return false; }
  const char* local_function() const override { return "static inline"; }
  const char* status_type() const override { return "int*"; }
  // A function's body points at its local status.
  const char* status_pointer() const override { return "asp_status_p"; }
  // Threads store atomically: a plain racing store is undefined behaviour in C.
  const char* status_store() const override { return "__atomic_store_n(status, code, __ATOMIC_RELAXED);"; }

  std::string math(const std::string& name, psir::Type t) const override;
  std::string special_float(bool nan, psir::Type t) const override;
  std::string double_bits(const std::string& value) const override;
  // C converts an int 0 to the builtin's parameter type.
  std::string copysign_zero(const std::string&) const override { return "0"; }

  const char* unroll_pragma() const override { return "#pragma GCC unroll 16"; }
  bool streaming_stores() const override { return true; }

 protected:
  // `backend` names the backend in the generated file's first line.
  explicit HostCDialect(const char* backend) : backend_(backend) {}
  // The declarations of the runtime the outermost parallel loop uses.
  virtual const char* loop_runtime() const = 0;

 private:
  const char* backend_;
};

}  // namespace asp::backends
