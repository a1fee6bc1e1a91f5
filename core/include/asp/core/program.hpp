// The host schedule of a PSIR program (DESIGN.md §12), run natively between
// kernel launches: no Python between steps.
#pragma once

#include "asp/core/binding.hpp"
#include "asp/core/kernel.hpp"

#include <asp/psir.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asp::core {

// A communication statement's implementation (`comm NAME(args)`), registered
// by the layer that provides it (MPI, DESIGN.md §10). It receives the host
// addresses and byte sizes of the buffers it names and the addresses of the
// scalars; on a device backend the buffers are copied to the host first and
// back after.
struct CommArgument {
  void* data;
  std::size_t bytes;
  psir::Type type;
  bool buffer;
};
using CommOperation = std::function<void(const std::vector<CommArgument>& args)>;
// Registers (or, with an empty function, removes) the operation `name` for every program of the process.
void register_comm(const std::string& name, CommOperation operation);
// The operation registered as `name`; empty when no layer provides it.
CommOperation comm_operation(const std::string& name);

class ProgramRunner {
 public:
  // `kernels` in the order of the program module's kernel declarations (their
  // names are the first variant's kernel, as KernelCompiler::compile_program() builds them).
  ProgramRunner(const psir::Program& program, std::vector<std::shared_ptr<Kernel>> kernels,
                std::vector<std::string> kernel_names);
  // Whether a call may store into program parameter p (some launch passes it where its kernel writes).
  const std::vector<bool>& written() const { return written_; }

  // What the tuner keys this call's choices by when the program declares a
  // tuning key (`tune(...)`): its values for these arguments, e.g.
  // "tune(32, 24, 5)"; empty when it declares none (then the arguments' shapes count).
  std::string tuning_signature(const Binding::Frame& frame) const;
  bool has_tuning_key() const { return !program_.tuning_key.empty(); }

  // Runs the schedule for one call: `frame` as `binding` bound the program's
  // parameters, `slots` the tuning slot of each kernel for this signature,
  // `device` the device copies of the arrays on a device backend (else null).
  // Returns the variant of the last launch, numbered across the kernels in order (kernel 0's first). Throws KernelFault for a kernel's
  // error status, InvalidArgument when a launch's buffers do not match the
  // extents its kernel takes, std::runtime_error for a schedule error (an
  // unregistered communication operation, a host read out of bounds).
  std::size_t run(const Binding& binding, const Binding::Frame& frame, const asp_arg* values,
                  Kernel::Slot* const* slots, const DeviceFrame* device) const;

 private:
  class Execution;
  psir::Program program_;
  std::vector<std::shared_ptr<Kernel>> kernels_;
  std::map<std::string, std::size_t> kernel_index_;
  std::vector<std::size_t> first_variant_;  // per kernel: the number of its first variant across all kernels
  std::vector<bool> written_;
};

}  // namespace asp::core
