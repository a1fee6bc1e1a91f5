#include "asp/core/program.hpp"

#include "asp/core/errors.hpp"

#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace asp::core {

namespace {

struct CommRegistry {
  std::shared_mutex mutex;
  std::map<std::string, CommOperation> operations;
};
CommRegistry& comm_registry() {
  static CommRegistry registry;
  return registry;
}

// Raised by `break`, caught by the innermost loop.
struct Break {};

}  // namespace

void register_comm(const std::string& name, CommOperation operation) {
  CommRegistry& r = comm_registry();
  std::unique_lock lock(r.mutex);
  if (operation) {
    r.operations[name] = std::move(operation);
  } else {
    r.operations.erase(name);
  }
}

CommOperation comm_operation(const std::string& name) {
  CommRegistry& r = comm_registry();
  std::shared_lock lock(r.mutex);
  auto it = r.operations.find(name);
  return it == r.operations.end() ? CommOperation{} : it->second;
}

ProgramRunner::ProgramRunner(const psir::Program& program, std::vector<std::shared_ptr<Kernel>> kernels,
                             std::vector<std::string> kernel_names)
    : program_(program), kernels_(std::move(kernels)), written_(program.params.size()) {
  if (kernel_names.size() != kernels_.size()) throw std::logic_error("a program needs one name per kernel");
  std::size_t variants = 0;
  for (std::size_t k = 0; k < kernels_.size(); ++k) {
    kernel_index_[kernel_names[k]] = k;
    first_variant_.push_back(variants);
    variants += kernels_[k]->variants().size();
    for (const psir::Param& p : kernels_[k]->variants().front().function.params) {
      if (!p.strides.empty()) throw std::runtime_error("kernel " + kernel_names[k] + ": a program kernel takes compact buffers only");
    }
  }
  // What a call may write: each buffer a launch passes where its kernel
  // writes. Exhaustive: a statement kind this walker missed would leave
  // results on a device uncopied.
  struct Written : psir::HostWalker<Written>, asp::ir::Exhaustive {
    explicit Written(ProgramRunner& r) : runner(r) {}
    void mark(const std::string& name) {
      for (std::size_t p = 0; p < runner.program_.params.size(); ++p) {
        runner.written_[p] = runner.written_[p] || runner.program_.params[p].name == name;
      }
    }
    void on_launch(const psir::HostStmt& s) {
      const Kernel& kernel = *runner.kernels_.at(runner.kernel_index_.at(s.name));
      for (std::size_t i = 0; i < s.args.size(); ++i) {
        if (kernel.writes(i)) mark(s.args[i]);
      }
    }
    void on_comm(const psir::HostStmt& s) {  // a communication statement may write every buffer it names
      for (const std::string& a : s.args) mark(a);
    }
    void on_loop(const psir::HostStmt& s) { descend(s); }
    void on_if(const psir::HostStmt& s) { descend(s); }
    void on_let(const psir::HostStmt&) {}
    void on_decl(const psir::HostStmt&) {}
    void on_assign(const psir::HostStmt&) {}
    void on_break(const psir::HostStmt&) {}
    ProgramRunner& runner;
  };
  Written(*this).block(program_.schedule);
}

namespace {

// The program's scalar parameters as bound for one call (a tuning key reads nothing else).
class ScalarScope : public ValueScope {
 public:
  ScalarScope(const psir::Program& program, const Binding::Frame& frame) : program_(program), frame_(frame) {}
  psir::Value variable(const std::string& name) const override {
    for (std::size_t p = 0; p < program_.params.size(); ++p) {
      if (program_.params[p].name == name && program_.params[p].kind == psir::Param::Kind::scalar) {
        return read_scalar(program_.params[p].type, frame_.entry[p]);
      }
    }
    throw std::runtime_error("program: '" + name + "' is not a scalar parameter");
  }
  psir::Value element(const std::string& name, const std::vector<std::int64_t>&) const override {
    throw std::runtime_error("program: a tuning key cannot read buffer " + name);
  }

 private:
  const psir::Program& program_;
  const Binding::Frame& frame_;
};

std::string value_text(const psir::Value& v) {
  return std::visit([](auto x) {
    if constexpr (std::is_same_v<decltype(x), bool>) {
      return std::string(x ? "true" : "false");
    } else {
      std::ostringstream out;
      out.precision(17);
      out << x;
      return out.str();
    }
  }, v);
}

}  // namespace

std::string ProgramRunner::tuning_signature(const Binding::Frame& frame) const {
  if (program_.tuning_key.empty()) return {};
  const ScalarScope scope(program_, frame);
  std::string text = "tune(";
  for (std::size_t i = 0; i < program_.tuning_key.size(); ++i) {
    text += (i ? ", " : "") + value_text(evaluate(*program_.tuning_key[i], scope));
  }
  return text + ")";
}

// The state of one call: the program's buffers (parameters and temporaries)
// on the host and, on a device backend, on the device; the host variables.
class ProgramRunner::Execution : public ValueScope, public asp::ir::Exhaustive {
 public:
  Execution(const ProgramRunner& runner, const Binding& binding, const Binding::Frame& frame, const asp_arg* values,
            Kernel::Slot* const* slots, const DeviceFrame* device)
      : runner_(runner), frame_(frame), slots_(slots) {
    const psir::Program& program = runner.program_;
    for (std::size_t p = 0; p < program.params.size(); ++p) {
      const psir::Param& param = program.params[p];
      if (param.kind != psir::Param::Kind::buffer) continue;
      const DLTensor& t = values[binding.buffer_arg(p)].tensor;
      Buffer b{param.name, param.type, std::vector<std::int64_t>(t.shape, t.shape + t.ndim), frame.entry[p],
               device ? device->buffer(p) : nullptr};
      buffers_.push_back(std::move(b));
    }
    const std::shared_ptr<const DeviceRuntime>& runtime = runner.kernels_.front()->device();
    for (const psir::Param& t : program.temporaries) {
      Buffer b{t.name, t.type, {}, nullptr, nullptr};
      std::size_t elements = 1;
      for (const psir::Extent& x : t.shape) {
        const std::int64_t n = std::holds_alternative<std::int64_t>(x) ? std::get<std::int64_t>(x)
                                                                         : std::get<std::int64_t>(variable(std::get<std::string>(x)));
        if (n < 0) throw InvalidArgument("temporary '" + t.name + "' would have a negative extent " + std::to_string(n));
        b.shape.push_back(n);
        elements *= static_cast<std::size_t>(n);
      }
      b.storage.assign(std::max<std::size_t>(1, elements * psir::size_of(t.type)), std::byte{0});
      b.host = b.storage.data();
      if (runtime) {
        b.owned = std::make_unique<DeviceBuffer>(runtime, runtime->allocate(b.storage.size()), b.storage.size());
        runtime->copy_in(b.owned->handle(), b.storage.data(), b.storage.size());
        b.device = b.owned->handle();
      }
      buffers_.push_back(std::move(b));
    }
  }

  std::size_t run() {
    run_block(runner_.program_.schedule);
    return last_variant_;
  }

  psir::Value variable(const std::string& name) const override {
    for (auto it = variables_.rbegin(); it != variables_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    const psir::Program& program = runner_.program_;
    for (std::size_t p = 0; p < program.params.size(); ++p) {
      if (program.params[p].name == name && program.params[p].kind == psir::Param::Kind::scalar) {
        return read_scalar(program.params[p].type, frame_.entry[p]);
      }
    }
    throw std::runtime_error("program: '" + name + "' is not a scalar in scope");
  }

  psir::Value element(const std::string& name, const std::vector<std::int64_t>& indices) const override {
    const Buffer& b = buffer(name);
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < indices.size(); ++d) {
      if (indices[d] < 0 || indices[d] >= b.shape[d]) {
        throw KernelFault(KernelFault::Kind::out_of_bounds, ASP_C_OUT_OF_BOUNDS,
                          "the program reads " + name + " at index " + std::to_string(indices[d]) + " of axis " +
                              std::to_string(d) + ", outside its extent " + std::to_string(b.shape[d]));
      }
      offset = offset * b.shape[d] + indices[d];
    }
    if (b.device && b.device_newer) {
      // The host reads what the last launches wrote: copy the buffer back first.
      b.staging.resize(bytes_of(b));
      device_runtime().copy_out(b.staging.data(), b.device, b.staging.size());
      b.device_newer = false;
    }
    const std::byte* base = b.device ? b.staging.data() : static_cast<const std::byte*>(b.host);
    return read_scalar(b.type, base + static_cast<std::size_t>(offset) * psir::size_of(b.type));
  }

 private:
  struct Buffer {
    std::string name;
    psir::Type type;
    std::vector<std::int64_t> shape;
    void* host;
    asp_device_buffer* device;
    std::vector<std::byte> storage{};  // a temporary's host memory
    std::unique_ptr<DeviceBuffer> owned{};  // a temporary's device memory
    mutable std::vector<std::byte> staging{};  // the host's copy of a device buffer the schedule reads
    mutable bool device_newer = true;
  };

  static std::size_t bytes_of(const Buffer& b) {
    std::size_t n = psir::size_of(b.type);
    for (std::int64_t x : b.shape) n *= static_cast<std::size_t>(x);
    return n;
  }

  const DeviceRuntime& device_runtime() const { return *runner_.kernels_.front()->device(); }

  const Buffer& buffer(const std::string& name) const {
    for (const Buffer& b : buffers_) {
      if (b.name == name) return b;
    }
    throw std::runtime_error("program: '" + name + "' is not a buffer of the program");
  }

  void run_block(const psir::Schedule& body) {
    const std::size_t scope = variables_.size();
    for (const psir::HostStmt& s : body) run_stmt(s);
    variables_.resize(scope);
  }

  void run_stmt(const psir::HostStmt& s) { dispatch(*this, s); }

 public:
  // The interpreter of the schedule: every kind of host statement.
  void on_launch(const psir::HostStmt& s) { launch(s); }
  void on_comm(const psir::HostStmt& s) { comm(s); }
  void on_let(const psir::HostStmt& s) { variables_.emplace_back(s.name, evaluate(*s.value, *this)); }
  void on_decl(const psir::HostStmt& s) { on_let(s); }
  void on_assign(const psir::HostStmt& s) {
    const psir::Value v = evaluate(*s.value, *this);
    for (auto it = variables_.rbegin(); it != variables_.rend(); ++it) {
      if (it->first == s.name) {
        it->second = v;
        return;
      }
    }
    throw std::runtime_error("program: assignment to undefined '" + s.name + "'");
  }
  void on_loop(const psir::HostStmt& s) {
    const std::int64_t lower = std::get<std::int64_t>(evaluate(*s.value, *this));
    const std::int64_t upper = std::get<std::int64_t>(evaluate(*s.upper, *this));
    for (std::int64_t i = lower; i < upper; ++i) {
      variables_.emplace_back(s.name, i);
      const std::size_t mark = variables_.size();
      try {
        run_block(s.body);
      } catch (const Break&) {
        variables_.resize(mark - 1);
        return;
      }
      variables_.resize(mark - 1);
    }
  }
  void on_if(const psir::HostStmt& s) { run_block(std::get<bool>(evaluate(*s.value, *this)) ? s.body : s.else_body); }
  void on_break(const psir::HostStmt&) { throw Break{}; }

 private:
  void launch(const psir::HostStmt& s) {
    const std::size_t k = runner_.kernel_index_.at(s.name);
    Kernel& kernel = *runner_.kernels_[k];
    const psir::Function& signature = kernel.variants().front().function;
    std::array<void*, Binding::max_params> entry{};
    std::array<std::uint64_t, Binding::max_params> scalars{};
    if (signature.params.size() > entry.size()) throw std::runtime_error("kernel " + s.name + " has too many parameters");
    for (std::size_t i = 0; i < signature.params.size(); ++i) {
      const psir::Param& p = signature.params[i];
      if (p.kind == psir::Param::Kind::scalar) {
        scalars[i] = scalar_bits(p.type, variable(s.args[i]));
        entry[i] = &scalars[i];
      }
    }
    // Native code indexes a buffer by the extents its kernel takes: they must be the buffer's.
    for (std::size_t i = 0; i < signature.params.size(); ++i) {
      const psir::Param& p = signature.params[i];
      if (p.kind != psir::Param::Kind::buffer) continue;
      const Buffer& b = buffer(s.args[i]);
      for (std::size_t d = 0; d < p.shape.size(); ++d) {
        std::int64_t want;
        std::string what;
        if (const auto* n = std::get_if<std::int64_t>(&p.shape[d])) {
          want = *n;
          what = std::to_string(want);
        } else {
          const std::string& extent = std::get<std::string>(p.shape[d]);
          const psir::Param* q = signature.param(extent);
          want = std::get<std::int64_t>(read_scalar(q->type, &scalars[static_cast<std::size_t>(q - signature.params.data())]));
          what = extent + " = " + std::to_string(want);
        }
        if (b.shape[d] != want) {
          throw InvalidArgument("launch " + s.name + ": buffer '" + b.name + "' has extent " + std::to_string(b.shape[d]) +
                                " on axis " + std::to_string(d) + " where the kernel takes " + what);
        }
      }
      entry[i] = b.device ? static_cast<void*>(b.device) : b.host;
    }
    const Kernel::Run run = kernel.run(*slots_[k], entry.data());
    last_variant_ = runner_.first_variant_[k] + run.variant;
    for (std::size_t i = 0; i < signature.params.size(); ++i) {
      if (kernel.writes(i)) buffer(s.args[i]).device_newer = true;
    }
    if (run.status != ASP_C_OK) throw Binding::fault_of(kernel.variants()[run.variant].function, run.status);
  }

  void comm(const psir::HostStmt& s) {
    const CommOperation operation = comm_operation(s.name);
    if (!operation) {
      throw std::runtime_error("the program communicates ('comm " + s.name +
                               "'), but no communication layer provides that operation in this process");
    }
    std::vector<CommArgument> args;
    std::vector<psir::Value> values;
    std::vector<std::uint64_t> scalars(s.args.size());
    for (std::size_t i = 0; i < s.args.size(); ++i) {
      const Buffer* b = nullptr;
      for (const Buffer& candidate : buffers_) {
        if (candidate.name == s.args[i]) b = &candidate;
      }
      if (b) {
        if (b->device) {
          element(b->name, std::vector<std::int64_t>(b->shape.size(), 0));  // brings the staging copy up to date
          args.push_back({b->staging.data(), b->staging.size(), b->type, true});
        } else {
          args.push_back({b->host, bytes_of(*b), b->type, true});
        }
        continue;
      }
      const psir::Value v = variable(s.args[i]);
      const psir::Type t = std::holds_alternative<double>(v) ? psir::Type::f64
                           : std::holds_alternative<bool>(v) ? psir::Type::boolean
                           : std::holds_alternative<std::uint64_t>(v) ? psir::Type::u64
                                                                      : psir::Type::i64;
      scalars[i] = scalar_bits(t, v);
      args.push_back({&scalars[i], psir::size_of(t), t, false});
    }
    operation(args);
    for (const CommArgument& a : args) {
      for (const Buffer& b : buffers_) {
        if (a.buffer && b.device && a.data == b.staging.data()) device_runtime().copy_in(b.device, b.staging.data(), b.staging.size());
      }
    }
  }

  Buffer& buffer(const std::string& name) { return const_cast<Buffer&>(std::as_const(*this).buffer(name)); }

  const ProgramRunner& runner_;
  const Binding::Frame& frame_;
  Kernel::Slot* const* slots_;
  std::vector<Buffer> buffers_;
  std::vector<std::pair<std::string, psir::Value>> variables_;
  std::size_t last_variant_ = 0;
};

std::size_t ProgramRunner::run(const Binding& binding, const Binding::Frame& frame, const asp_arg* values,
                               Kernel::Slot* const* slots, const DeviceFrame* device) const {
  return Execution(*this, binding, frame, values, slots, device).run();
}

}  // namespace asp::core
