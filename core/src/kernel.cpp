#include "asp/core/kernel.hpp"

#include "asp/core/binding.hpp"

#include "asp/core/host_services.hpp"
#include "asp/core/log.hpp"
#include "asp/core/platform.hpp"
#include "jit_common.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <asp/psir_passes.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <functional>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace asp::core {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string text_from_sink(const std::function<asp_status(const asp_text_sink*, asp_host_context*)>& call,
                           const std::string& who) {
  std::string text;
  const asp_text_sink sink{sizeof(asp_text_sink), &text, [](void* context, const char* data, size_t length) {
                             static_cast<std::string*>(context)->append(data, length);
                           }};
  if (auto error = call_plugin(who, [&](asp_host_context* ctx) { return call(&sink, ctx); })) {
    throw std::runtime_error(who + ": " + error->message);
  }
  return text;
}

}  // namespace

std::string tuning_platform() {
  // Not platform(): its hwloc probe costs a warm start milliseconds before its first call.
  return jit_detail::host_target().cpu + " " + machine_identity();
}

class Kernel::Slot {
 public:
  static constexpr std::size_t unsettled = static_cast<std::size_t>(-1);
  Slot(std::unique_ptr<Tuner> tuner, std::size_t variants) : tuner(std::move(tuner)), runnable(variants) {}
  std::unique_ptr<Tuner> tuner;
  // Scratch for the run checks of one call, kept here (under the kernel's
  // mutex) so that a call does not allocate.
  std::vector<bool> runnable;
  // Once the tuner has settled, its choice is final for every call whose run
  // checks read the same values: `settled_inputs` (written once, under the
  // mutex, before `settled` is published), so such a call takes no lock and
  // interprets no run check.
  std::array<std::uint64_t, Kernel::max_check_inputs> settled_inputs{};
  std::atomic<std::size_t> settled{unsettled};
};

namespace {

// Which parameters the functions store into.
std::vector<bool> written_params(const std::vector<psir::Function>& functions) {
  std::vector<bool> written;
  for (const psir::Function& f : functions) {
    written.resize(std::max(written.size(), f.params.size()));
    // psir::stored_buffers handles every statement kind (exhaustive): a kind
    // it missed would leave a device's results uncopied.
    for (const std::string& name : psir::stored_buffers(f.body)) {
      for (std::size_t i = 0; i < f.params.size(); ++i) written[i] = written[i] || f.params[i].name == name;
    }
  }
  return written;
}

}  // namespace

DeviceCode::DeviceCode(std::shared_ptr<const DeviceRuntime> device, asp_device_module* module,
                       std::vector<psir::Function> functions)
    : device_(std::move(device)), module_(module), functions_(std::move(functions)) {
  for (const psir::Function& f : functions_) {
    std::vector<Launch>& launches = launches_.emplace_back();
    // Launched in order, each after the one before has finished (psir::device_launches).
    for (const psir::Function& part : psir::device_launches(f)) {
      Launch& launch = launches.emplace_back();
      launch.name = part.name;
      // The launch grid comes from the gpu loops: exhaustive, so that a
      // statement kind holding one cannot hide it.
      struct GpuLoops : psir::StmtWalker<GpuLoops>, asp::ir::Exhaustive {
        GpuLoops(DeviceCode& code, const psir::Function& f, Launch& launch) : code(code), f(f), launch(launch) {}
        void on_loop(const psir::Stmt& s) {
          const psir::Loop& l = *s.loop;
          if (l.kind == psir::LoopKind::gpu_block || l.kind == psir::LoopKind::gpu_thread) {
            for (const psir::ExprPtr& bound : {l.lower, l.upper}) {
              if (const std::string why = psir::gpu_bound_problem(f, bound); !why.empty()) {
                code.unload_on_failure();
                throw std::runtime_error("kernel " + f.name + ": the bounds of gpu loop '" + l.var + "' " + why +
                                         ", so no launch grid can be computed");
              }
            }
            launch.loops.push_back({l.kind == psir::LoopKind::gpu_block, l.dim, l.lower, l.upper, l.step});
          }
          descend(s);
        }
        void on_if(const psir::Stmt& s) { descend(s); }
        void on_let(const psir::Stmt&) {}
        void on_decl(const psir::Stmt&) {}
        void on_assign(const psir::Stmt&) {}
        void on_reduce(const psir::Stmt&) {}
        void on_store(const psir::Stmt&) {}
        DeviceCode& code;
        const psir::Function& f;
        Launch& launch;
      };
      GpuLoops(*this, f, launch).block(part.body);
    }
  }
}

void DeviceCode::unload_on_failure() noexcept {
  device_->unload(module_);
  module_ = nullptr;
}

DeviceCode::~DeviceCode() {
  if (module_) device_->unload(module_);
}

std::size_t DeviceCode::launch_count(std::size_t variant) const { return launches_.at(variant).size(); }

asp_launch_config DeviceCode::launch_config(std::size_t variant, void* const* args, std::size_t launch) const {
  asp_launch_config config{sizeof(asp_launch_config), {1, 1, 1}, {1, 1, 1}};
  bool seen[2][3] = {};
  const psir::Function& f = functions_.at(variant);
  for (const GpuLoop& l : launches_.at(variant).at(launch).loops) {
    const std::int64_t span = evaluate_integer(f, *l.upper, args) - evaluate_integer(f, *l.lower, args);
    const std::uint64_t trips = span <= 0 ? 0 : static_cast<std::uint64_t>((span + l.step - 1) / l.step);
    std::uint64_t& slot = l.block ? config.grid[l.dim] : config.block[l.dim];
    bool& first = seen[l.block ? 0 : 1][l.dim];
    slot = first ? std::max(slot, trips) : trips;
    first = false;
  }
  return config;
}

int DeviceCode::launch(std::size_t variant, void* const* args) const {
  const psir::Function& f = functions_.at(variant);
  std::array<asp_device_arg, 64> device_args;
  if (f.params.size() > device_args.size()) throw std::runtime_error("kernel " + f.name + " has too many parameters");
  for (std::size_t i = 0; i < f.params.size(); ++i) {
    const psir::Param& p = f.params[i];
    asp_device_arg& a = device_args[i];
    a = {sizeof(asp_device_arg), nullptr, nullptr, 0};
    if (p.kind == psir::Param::Kind::buffer) {
      a.buffer = static_cast<asp_device_buffer*>(args[i]);
    } else {
      a.scalar = args[i];
      a.scalar_size = psir::size_of(p.type);
    }
  }
  // Each launch returns when it has finished (asp_backend::launch), so the
  // next one sees its stores; the first error ends the call, as it would end
  // the function run as one.
  const std::vector<Launch>& launches = launches_.at(variant);
  for (std::size_t k = 0; k < launches.size(); ++k) {
    const asp_launch_config config = launch_config(variant, args, k);
    bool empty = false;
    for (int d = 0; d < 3; ++d) empty |= config.grid[d] == 0 || config.block[d] == 0;  // no iteration to run
    if (empty) continue;
    const int status = device_->launch(module_, launches[k].name, device_args.data(), f.params.size(), config);
    if (status != ASP_C_OK) return status;
  }
  return ASP_C_OK;
}

Kernel::Kernel(std::string key, std::string backend, std::vector<Variant> variants, Code code, std::vector<bool> written,
               TuningDatabase* tuning, Builder build)
    : key_(std::move(key)),
      backend_(std::move(backend)),
      variants_(std::move(variants)),
      code_(std::move(code)),
      written_(std::move(written)),
      tuning_(tuning),
      build_(std::move(build)),
      built_(new std::atomic<bool>[variants_.size()]),
      failed_(variants_.size()) {
  if (!code_.device.empty()) device_ = code_.device.front()->device();
  for (std::size_t i = 0; i < variants_.size(); ++i) {
    const bool has_code = variants_[i].entry || variants_[i].device;
    if (!has_code && !build_) throw std::runtime_error("kernel " + key_ + ": variant " + variants_[i].function.name + " has no code");
    built_[i].store(has_code, std::memory_order_relaxed);
  }
  find_check_inputs();
}

namespace {

std::vector<psir::Function> functions_of(const std::vector<Kernel::Variant>& variants) {
  std::vector<psir::Function> functions;
  for (const Kernel::Variant& v : variants) functions.push_back(v.function);
  return functions;
}

Kernel::Code host_code(std::shared_ptr<LoadedCode> code) {
  Kernel::Code c;
  c.host.push_back(std::move(code));
  return c;
}

std::vector<Kernel::Variant> device_variants(const DeviceCode& code) {
  std::vector<Kernel::Variant> variants;
  for (std::size_t i = 0; i < code.functions().size(); ++i) variants.push_back({code.functions()[i], nullptr, &code, i});
  return variants;
}

}  // namespace

Kernel::Kernel(std::string key, std::string backend, std::vector<Variant> variants, std::shared_ptr<LoadedCode> code,
               TuningDatabase* tuning)
    : Kernel(std::move(key), std::move(backend), variants, host_code(std::move(code)),
             written_params(functions_of(variants)), tuning) {}

Kernel::Kernel(std::string key, std::string backend, std::unique_ptr<DeviceCode> code, TuningDatabase* tuning)
    : Kernel(std::move(key), std::move(backend), device_variants(*code), Code{}, written_params(code->functions()),
             tuning) {
  device_ = code->device();
  code_.device.push_back(std::move(code));
}

Kernel::~Kernel() = default;

bool Kernel::runnable(std::size_t i, void* const* args) const { return evaluate_run_check(variants_.at(i).function, args); }

void Kernel::find_check_inputs() {
  check_inputs_known_ = true;
  check_inputs_.clear();
  for (const Variant& v : variants_) {
    if (!v.function.requires_) continue;
    const auto& params = v.function.params;
    auto visit = [&](const psir::Expr& e) {
      if (e.kind == psir::Expr::Kind::load) check_inputs_known_ = false;  // reads memory: evaluated on every call
      if (e.kind != psir::Expr::Kind::var) return;
      for (std::size_t p = 0; p < params.size(); ++p) {
        if (params[p].name != e.name || params[p].kind != psir::Param::Kind::scalar) continue;
        const CheckInput input{p, psir::size_of(params[p].type)};
        if (std::none_of(check_inputs_.begin(), check_inputs_.end(), [&](const CheckInput& c) { return c.param == p; })) {
          check_inputs_.push_back(input);
        }
      }
    };
    psir::for_each_expr(v.function.requires_, visit);
  }
  if (check_inputs_.size() > max_check_inputs) check_inputs_known_ = false;
}

bool Kernel::same_check_inputs(const Slot& slot, void* const* args) const {
  for (std::size_t k = 0; k < check_inputs_.size(); ++k) {
    std::uint64_t value = 0;
    std::memcpy(&value, args[check_inputs_[k].param], check_inputs_[k].bytes);
    if (value != slot.settled_inputs[k]) return false;
  }
  return true;
}

Kernel::Slot& Kernel::slot(const std::string& signature) {
  std::lock_guard lock(mutex_);
  auto& slot = slots_[signature];
  if (!slot) {
    std::vector<std::string> names;
    for (const Variant& v : variants_) names.push_back(v.function.name);
    slot = std::make_unique<Slot>(
        std::make_unique<Tuner>(tuning_, TuningKey{key_, signature, tuning_platform()}, std::move(names)),
        variants_.size());
  }
  return *slot;
}

std::optional<std::size_t> Kernel::choose_locked(Slot& slot, void* const* args) {
  for (std::size_t i = 0; i < variants_.size(); ++i) slot.runnable[i] = !failed_[i] && runnable(i, args);
  return slot.tuner->choose(slot.runnable);
}

Kernel::Built Kernel::ensure_built(std::size_t i) {
  Built already;
  already.cache_hit = true;
  if (built(i)) return already;
  std::lock_guard lock(build_mutex_);
  if (built(i)) return already;
  Built b = build_(i);
  variants_[i].entry = b.entry;
  code_.host.push_back(b.code);
  built_[i].store(true, std::memory_order_release);
  b.code.reset();
  return b;
}

bool Kernel::settled(const std::string& signature, void* const* args) {
  Slot& s = slot(signature);
  std::lock_guard lock(mutex_);
  choose_locked(s, args);
  return s.tuner->settled(s.runnable);
}

void Kernel::build_all(const std::atomic<bool>& stop) {
  for (std::size_t i = 0; i < variants_.size() && !stop.load(std::memory_order_relaxed); ++i) {
    try {
      ensure_built(i);
    } catch (const std::exception& e) {
      log(LogLevel::debug, "kernel", "building variant " + variants_[i].function.name + " of kernel " + key_ +
                                         " in the background failed (the tuner will say so if it chooses it): " + e.what());
    }
  }
}

// One thread for every kernel's background builds, started at the first and
// stopped (after the build in progress) when the process exits: it is a
// static created after the runtime, so it goes before the runtime and LLVM.
class Kernel::BackgroundBuilds {
 public:
  static BackgroundBuilds& instance() {
    static BackgroundBuilds builds;
    return builds;
  }
  void add(std::weak_ptr<Kernel> kernel) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(kernel));
    if (!thread_.joinable()) thread_ = std::thread([this] { work(); });
    ready_.notify_one();
  }
  ~BackgroundBuilds() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      std::weak_ptr<Kernel> next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (std::shared_ptr<Kernel> kernel = next.lock()) kernel->build_all(stop_);
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::weak_ptr<Kernel>> queue_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Kernel::Built Kernel::build_first(const std::string& signature, void* const* args) {
  std::optional<std::size_t> first;
  if (args) {
    Slot& s = slot(signature);
    std::lock_guard lock(mutex_);
    first = choose_locked(s, args);
  }
  return ensure_built(first.value_or(0));
}

Kernel::Run Kernel::run(Slot& slot, void* const* args) {
  if (const std::size_t settled = slot.settled.load(std::memory_order_acquire);
      settled != Slot::unsettled && same_check_inputs(slot, args)) {
    const Variant& v = variants_[settled];
    return {settled, v.device ? v.device->launch(v.device_index, args) : v.entry(args), 0.0};
  }
  std::size_t chosen;
  bool measure;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      const std::optional<std::size_t> choice = choose_locked(slot, args);
      if (!choice) {
        throw std::runtime_error("no variant of kernel " + key_ + " can run with these arguments (every run check fails)");
      }
      chosen = *choice;
      measure = !slot.tuner->settled(slot.runnable);
      if (!measure && check_inputs_known_ && built(chosen) &&
          slot.settled.load(std::memory_order_relaxed) == Slot::unsettled) {
        for (std::size_t k = 0; k < check_inputs_.size(); ++k) {
          slot.settled_inputs[k] = 0;
          std::memcpy(&slot.settled_inputs[k], args[check_inputs_[k].param], check_inputs_[k].bytes);
        }
        slot.settled.store(chosen, std::memory_order_release);
      }
    }
    try {
      ensure_built(chosen);
      break;
    } catch (const std::exception& e) {
      // Another variant may still build: this one is left out from now on.
      log(LogLevel::warning, "kernel", "variant " + variants_[chosen].function.name + " of kernel " + key_ +
                                           " did not build and is left out: " + e.what());
      std::lock_guard lock(mutex_);
      failed_[chosen] = true;
      if (std::all_of(failed_.begin(), failed_.end(), [](bool f) { return f; })) throw;
    }
  }
  const auto start = Clock::now();
  const Variant& v = variants_[chosen];
  const int status = v.device ? v.device->launch(v.device_index, args) : v.entry(args);
  const double elapsed = seconds_since(start);
  if (status == ASP_C_OK && measure) {
    std::lock_guard lock(mutex_);
    slot.tuner->report(chosen, elapsed);
  }
  if (background_.load(std::memory_order_relaxed) && background_.exchange(false)) {
    const bool missing = !std::all_of(built_.get(), built_.get() + variants_.size(), [](const std::atomic<bool>& b) { return b.load(); });
    if (missing) BackgroundBuilds::instance().add(weak_from_this());
  }
  return {chosen, status, elapsed};
}

std::string Kernel::describe_status(std::size_t variant, int status) const {
  if (status == ASP_C_ZERO_DIVISION) return "division by zero";
  if (ASP_C_IS_PYTHON_ERROR(status)) return Binding::fault_of(variants_.at(variant).function, status).what();
  const auto& params = variants_.at(variant).function.params;
  const int k = status - ASP_C_OUT_OF_BOUNDS;
  if (k >= 0 && static_cast<std::size_t>(k) < params.size()) {
    return "a data-dependent index fell outside '" + params[static_cast<std::size_t>(k)].name + "'";
  }
  return "the kernel failed with status " + std::to_string(status);
}

KernelCompiler::KernelCompiler(Registry& registry, const CodeCache* cache, TuningDatabase* tuning)
    : registry_(registry), cache_(cache), tuning_(tuning) {}

std::shared_ptr<const JitDriver> KernelCompiler::driver_for(const std::string& backend) {
  std::lock_guard lock(mutex_);
  auto& driver = drivers_[backend];
  if (!driver) driver = configured_driver(registry_.config(), backend);
  return driver;
}

std::shared_ptr<const DeviceRuntime> KernelCompiler::device_for(const std::string& backend, const asp_backend* vtable) {
  std::lock_guard lock(mutex_);
  auto& device = devices_[backend];
  if (!device) device = std::make_shared<const DeviceRuntime>(backend, vtable);
  return device;
}

std::string KernelCompiler::optimize_for(const std::string& backend, std::string psir_text) {
  for (const Component& c : registry_.components()) {
    if (c.description->kind != ASP_COMPONENT_OPTIMIZER) continue;
    const auto* optimizer = static_cast<const asp_optimizer*>(c.description->vtable);
    if (!ASP_HAS_FIELD(optimizer, asp_optimizer, backend) || !optimizer->backend || backend != optimizer->backend) continue;
    const std::string who = std::string("optimizer ") + c.description->name;
    psir_text = text_from_sink(
        [&](const asp_text_sink* sink, asp_host_context* ctx) { return optimizer->run(optimizer->self, ctx, psir_text.c_str(), sink); },
        who);
    try {
      psir::verify(psir::parse(psir_text));
    } catch (const std::exception& e) {
      throw std::runtime_error(who + " produced invalid PSIR: " + e.what());
    }
  }
  return psir_text;
}

namespace {

// What the core knows of a language: only the file name it saves a source
// under (the backend's vtable says who compiles it).
const char* source_extension(const std::string& language) {
  return language == "opencl-c" ? ".cl" : language == "cuda-c" ? ".cu" : ".c";
}

bool is_device(const asp_backend* v) {
  return ASP_HAS_FIELD(v, asp_backend, launch) && v->target && v->compile && v->load && v->unload && v->allocate &&
         v->release && v->copy_in && v->copy_out && v->launch;
}

bool host_c(std::string_view language) { return language == "c" || language == "c+openmp"; }

// Whether a hand-written source in `source` runs on a backend that emits `backend`.
bool runs_on(std::string_view source, std::string_view backend) {
  return source == backend || (source == "c" && host_c(backend));
}

}  // namespace

std::optional<std::string> KernelCompiler::cannot_build(const asp_backend* v) {
  if (!ASP_HAS_FIELD(v, asp_backend, runtime) || !v->generate || !v->language) return "it generates no code";
  if (is_device(v) || host_c(v->language)) return std::nullopt;
  return "it emits " + std::string(v->language) +
         ", which no JIT driver of the core compiles, and it does not compile, load and launch code itself";
}

struct KernelCompiler::Target {
  std::string backend;
  const BackendState* state;
  const asp_backend* vtable;
  std::string language;
  std::shared_ptr<const DeviceRuntime> device{};  // a device backend
  std::shared_ptr<const JitDriver> driver{};      // a host backend
  std::string identity{};                         // what its binaries depend on besides the source
  std::optional<std::filesystem::path> dump{};    // ASP_DUMP
  std::filesystem::path save_dir{};               // where failing sources are kept
};

KernelCompiler::Target KernelCompiler::target_for(const std::string& backend, const std::filesystem::path* dump) {
  const BackendState* state = registry_.backend(backend);
  if (!state) throw std::runtime_error("backend '" + backend + "' is not configured");
  if (!state->available) throw std::runtime_error("backend '" + backend + "' is unavailable: " + state->reason);
  const asp_backend* vtable = state->vtable;
  if (auto why = cannot_build(vtable)) throw std::runtime_error("backend '" + backend + "' cannot be used: " + *why);
  Target t{backend, state, vtable, vtable->language};
  if (is_device(vtable)) {
    t.device = device_for(backend, vtable);
    t.identity = t.device->target();
  } else {
    t.driver = driver_for(backend);
    t.identity = t.driver->identity();
  }
  t.identity = std::to_string(ASP_ABI_VERSION) + " " + backend + " " + state->library->version + " " + t.language + " " + t.identity;
  if (dump) {
    t.dump = *dump;
  } else if (const Setting* setting = registry_.config().find("dump")) {
    t.dump = std::get<std::string>(setting->value);
  }
  if (t.dump) {
    std::error_code error;  // a dump directory that cannot be made costs the dump, not the kernel
    std::filesystem::create_directories(*t.dump, error);
    if (error) {
      log(LogLevel::warning, "kernel", "ASP_DUMP: cannot create " + t.dump->string() + ": " + error.message() + "; nothing is dumped");
      t.dump.reset();
    }
  }
  // Failing sources are kept where the user looks: the dump directory, else beside the cache.
  t.save_dir = t.dump     ? *t.dump
               : cache_ ? cache_->dir() / "failed"
                        : std::filesystem::temp_directory_path() / ("asp-failed-" + std::to_string(getuid()));
  return t;
}

std::shared_ptr<LoadedCode> KernelCompiler::build_host(const Target& t, const CodeCache* cache, const std::string& source,
                                                       const std::string& name, Stats& s) {
  const JitDriver& driver = *t.driver;
  const std::string key = cache_key({t.identity, source});
  auto start = Clock::now();
  std::optional<std::string> artifact;
  std::filesystem::path file;
  // A shared library is loaded from its (verified) cache file, an object from memory.
  const bool needs_file = driver.artifact_kind() == "shared-library";
  if (cache && needs_file) {
    if (auto path = cache->load_file(key)) {
      artifact.emplace();
      file = *path;
    }
  } else if (cache) {
    artifact = cache->load(key);
  }
  const bool hit = artifact.has_value();
  s.cache_hit = s.cache_hit && hit;
  if (!artifact) {
    CompileRequest request;
    request.source = source;
    request.name = name;
    request.openmp = t.language == "c+openmp";
    request.save_dir = t.save_dir;
    artifact = driver.compile(request);
    s.compile_seconds += seconds_since(start);
    if (cache) {
      cache->store(key, *artifact, driver.artifact_kind());
      if (needs_file) {
        if (auto path = cache->load_file(key)) file = *path;
      }
    }
  }
  start = Clock::now();
  std::shared_ptr<LoadedCode> code = driver.load(*artifact, file);
  if (auto* init = reinterpret_cast<void (*)(const void*)>(code->symbol(ASP_C_RUNTIME_INIT_SYMBOL))) {
    init(t.vtable->runtime ? t.vtable->runtime(t.vtable->self) : nullptr);
  }
  s.load_seconds += seconds_since(start);
  log(LogLevel::debug, "kernel",
      name + ": " + key + (hit ? " loaded from the cache" : " compiled") + " for " + t.backend + " (" + driver.name() + ")");
  return code;
}

asp_device_module* KernelCompiler::build_device(const Target& t, const std::string& source, const std::string& name,
                                                Stats& s) {
  const std::string key = cache_key({t.identity, source});
  auto start = Clock::now();
  std::optional<std::string> binary = cache_ ? cache_->load(key) : std::nullopt;
  const bool hit = binary.has_value();
  s.cache_hit = s.cache_hit && hit;
  if (!binary) {
    try {
      binary = t.device->compile(source);
    } catch (const CompileError& e) {
      CompileRequest request;
      request.source = source;
      request.name = name;
      request.save_dir = t.save_dir;
      request.extension = source_extension(t.language);
      throw jit_detail::compile_error(request, e.what(), e.log());
    }
    s.compile_seconds += seconds_since(start);
    if (cache_) cache_->store(key, *binary, t.language + " binary");
  }
  start = Clock::now();
  asp_device_module* module = t.device->load(*binary);
  s.load_seconds += seconds_since(start);
  log(LogLevel::debug, "kernel", name + ": " + key + (hit ? " loaded from the cache" : " compiled") + " for " + t.backend);
  return module;
}

std::pair<psir::Module, std::string> KernelCompiler::generate(const Target& t, psir::Module module, Stats& s) {
  auto start = Clock::now();
  module = psir::parse(optimize_for(t.backend, psir::print(module)));
  const std::string canonical = psir::print(module);
  std::string source = text_from_sink(
      [&](const asp_text_sink* sink, asp_host_context* ctx) {
        return t.vtable->generate(t.vtable->self, ctx, canonical.c_str(), sink);
      },
      "backends." + t.backend);
  s.generate_seconds += seconds_since(start);
  if (t.dump) {
    // ASP_DUMP: what ran, readable by the user (DESIGN.md §2).
    const std::string stem = module.functions.front().name + "." + t.backend;
    std::ofstream(*t.dump / (stem + ".psir")) << canonical;
    std::ofstream(*t.dump / (stem + source_extension(t.language))) << source;
  }
  return {std::move(module), std::move(source)};
}

Kernel::Built KernelCompiler::build_variant(const Target& t, const CodeCache* cache, const psir::Function& function) {
  // The function alone: what the backend's optimizers left is generated as it is.
  const std::string text = psir::print(psir::Module{{function}});
  const std::string source = text_from_sink(
      [&](const asp_text_sink* sink, asp_host_context* ctx) { return t.vtable->generate(t.vtable->self, ctx, text.c_str(), sink); },
      "backends." + t.backend);
  Stats s;
  s.cache_hit = true;
  Kernel::Built b;
  b.code = build_host(t, cache, source, function.name, s);
  b.entry = reinterpret_cast<Kernel::Entry>(b.code->symbol(ASP_C_ENTRY_PREFIX + function.name));
  if (!b.entry) throw std::runtime_error("the compiled kernel lacks its entry point " ASP_C_ENTRY_PREFIX + function.name);
  b.cache_hit = s.cache_hit;
  b.compile_seconds = s.compile_seconds;
  b.load_seconds = s.load_seconds;
  return b;
}

std::pair<Kernel::Code, std::vector<psir::Function>> KernelCompiler::build_generated(const Target& t,
                                                                                      psir::Module module, Stats& s) {
  auto [optimized, source] = generate(t, std::move(module), s);
  module = std::move(optimized);
  const std::string name = module.functions.front().name;
  Kernel::Code code;
  if (t.device) {
    code.device.push_back(std::make_unique<DeviceCode>(t.device, build_device(t, source, name, s), module.functions));
  } else {
    code.host.push_back(build_host(t, cache_, source, name, s));
  }
  return {std::move(code), std::move(module.functions)};
}

namespace {

// The variants of generated functions in `code` (what build_generated() returned).
void add_generated(std::vector<Kernel::Variant>& variants, const Kernel::Code& code, std::vector<psir::Function> functions) {
  for (std::size_t i = 0; i < functions.size(); ++i) {
    psir::Function& f = functions[i];
    if (!code.device.empty()) {
      variants.push_back({std::move(f), nullptr, code.device.back().get(), i});
      continue;
    }
    auto entry = reinterpret_cast<Kernel::Entry>(code.host.back()->symbol(ASP_C_ENTRY_PREFIX + f.name));
    if (!entry) throw std::runtime_error("the compiled kernel lacks its entry point " ASP_C_ENTRY_PREFIX + f.name);
    variants.push_back({std::move(f), entry});
  }
}

void append(Kernel::Code& to, Kernel::Code from) {
  for (auto& c : from.host) to.host.push_back(std::move(c));
  for (auto& c : from.device) to.device.push_back(std::move(c));
}

// The comma-separated expressions of a launch grid ("x, y, z"), split outside parentheses and brackets.
std::vector<std::string> grid_dimensions(const char* text) {
  std::vector<std::string> parts;
  if (!text) return parts;
  std::string current;
  int depth = 0;
  for (const char* c = text; *c; ++c) {
    depth += (*c == '(' || *c == '[') - (*c == ')' || *c == ']');
    if (*c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += *c;
    }
  }
  parts.push_back(current);
  return parts;
}

// One instantiation of a hand-written kernel: its name, the lines the core
// puts before the source, and its PSIR function (the kernel's parameters,
// the run check and, on a device, gpu loops that size the launch grid).
struct Instantiation {
  std::string name;
  std::string prelude;
  psir::Function function{};
};

Instantiation instantiate(const psir::KernelDecl& kernel, const Component& component, const std::vector<std::int64_t>& values,
                          bool device) {
  const auto* k = static_cast<const asp_kernel_source*>(component.description->vtable);
  const std::string who = "kernel source '" + std::string(component.description->name) + "' (" +
                          component.library->section + "." + component.library->name + ")";
  Instantiation inst{k->variant, ""};
  psir::Function signature{"f", kernel.params};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string name = k->template_params[i].name ? k->template_params[i].name : "";
    const std::int64_t v = values[i];
    inst.name += "_" + name + (v < 0 ? "m" + std::to_string(0 - static_cast<std::uint64_t>(v)) : std::to_string(v));
    // INT64_MIN has no literal in C: its magnitude does not fit.
    const std::string literal = v == std::numeric_limits<std::int64_t>::min() ? "-9223372036854775807LL - 1"
                                                                              : std::to_string(v) + "LL";
    inst.prelude += "#define " + name + " (" + literal + ")\n";
    signature.params.push_back(psir::scalar_param(name, psir::Type::i64));
  }
  inst.prelude = "#define ASP_VARIANT " ASP_C_ENTRY_PREFIX + inst.name + "\n" + inst.prelude + "#line 1 \"" +
                 component.description->name + "\"\n";

  // The run check and grid are PSIR expressions over the kernel's scalars and
  // the template parameters: read them as part of a function of both, then
  // replace the template parameters by their values.
  std::string text = psir::print(psir::Module{{signature}});
  text = text.substr(0, text.rfind(" {"));
  if (k->requires_) text += " requires " + std::string(k->requires_);
  text += " {\n";
  std::string close;
  if (device) {
    const std::vector<std::string> grid = grid_dimensions(ASP_HAS_FIELD(k, asp_kernel_source, grid) ? k->grid : nullptr);
    const std::vector<std::string> block = grid_dimensions(ASP_HAS_FIELD(k, asp_kernel_source, block) ? k->block : nullptr);
    if (grid.size() > 3 || block.size() > 3) throw std::runtime_error(who + ": a launch grid has at most 3 dimensions");
    for (std::size_t d = 0; d < grid.size(); ++d) {
      text += "for asp_block_" + std::to_string(d) + " in 0:i64 .. " + grid[d] + " step 1 gpu_block(" + std::to_string(d) + ") {\n";
      close += "}\n";
    }
    for (std::size_t d = 0; d < block.size(); ++d) {
      text += "for asp_thread_" + std::to_string(d) + " in 0:i64 .. " + block[d] + " step 1 gpu_thread(" + std::to_string(d) + ") {\n";
      close += "}\n";
    }
  }
  text += close + "}\n";
  try {
    psir::Function f = psir::parse(text).functions.at(0);
    auto bind = [&](psir::ExprPtr e) {
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (e->kind == psir::Expr::Kind::var && e->name == k->template_params[i].name) return psir::i64(values[i]);
      }
      return e;
    };
    f.requires_ = psir::rewrite_expr(f.requires_, bind);
    f.body = psir::rewrite_block(f.body, bind);
    f.params = kernel.params;
    f.name = inst.name;
    psir::verify(f);
    inst.function = std::move(f);
  } catch (const std::exception& e) {
    throw std::runtime_error(who + ": its run check or launch grid is not valid PSIR over the parameters of kernel " +
                             kernel.name + " and its template parameters: " + e.what());
  }
  return inst;
}

// Every combination of the template parameters' values (one empty combination when there are none).
std::vector<std::vector<std::int64_t>> combinations(const asp_kernel_source& k) {
  std::vector<std::vector<std::int64_t>> all{{}};
  for (std::size_t i = 0; i < k.template_param_count; ++i) {
    const asp_template_param& p = k.template_params[i];
    std::vector<std::vector<std::int64_t>> next;
    for (const auto& prefix : all) {
      for (std::size_t j = 0; j < p.value_count; ++j) {
        next.push_back(prefix);
        next.back().push_back(p.values[j]);
      }
    }
    all = std::move(next);
  }
  return all;
}

}  // namespace

std::shared_ptr<Kernel> KernelCompiler::compile(std::string_view psir_text, const std::string& backend, Stats* stats,
                                                bool on_demand, const std::filesystem::path* dump) {
  Stats local;
  Stats& s = stats ? *stats : local;
  s = {};
  s.cache_hit = true;
  psir::Module module = psir::parse(psir_text);
  psir::verify(module);
  if (module.functions.empty()) throw std::runtime_error("the PSIR module has no function");
  if (!module.is_version_1()) throw std::runtime_error("a PSIR program is compiled by compile_program()");
  const Target target = target_for(backend, dump);
  if (on_demand && !target.device) {
    // Each variant in a binary of its own, built when first needed: LLVM
    // optimises only what runs, and a warm start loads only that.
    // The backend's optimizers now (they may add variants); the source of all the variants only for ASP_DUMP.
    if (target.dump) {
      module = generate(target, std::move(module), s).first;
    } else {
      module = psir::parse(optimize_for(target.backend, psir::print(module)));
    }
    auto functions = std::make_shared<const std::vector<psir::Function>>(std::move(module.functions));
    std::vector<Kernel::Variant> variants;
    for (const psir::Function& f : *functions) variants.push_back({f, nullptr});
    Kernel::Builder build = [target, cache = cache_, functions](std::size_t i) {
      return build_variant(target, cache, functions->at(i));
    };
    return std::make_shared<Kernel>(cache_key({target.identity, psir_text}), backend, std::move(variants), Kernel::Code{},
                                    written_params(*functions), tuning_, std::move(build));
  }
  auto [code, functions] = build_generated(target, std::move(module), s);
  std::vector<Kernel::Variant> variants;
  add_generated(variants, code, std::move(functions));
  std::vector<bool> written = written_params(functions_of(variants));
  return std::make_shared<Kernel>(cache_key({target.identity, psir_text}), backend, std::move(variants),
                                  std::move(code), std::move(written), tuning_);
}

std::vector<std::shared_ptr<Kernel>> KernelCompiler::compile_program(const psir::Module& program,
                                                                     const std::string& backend,
                                                                     const std::string& domain, Stats* stats,
                                                                     const std::filesystem::path* dump) {
  Stats local;
  Stats& s = stats ? *stats : local;
  s = {};
  s.cache_hit = true;
  psir::verify(program);
  if (!program.program) throw std::runtime_error("the PSIR module is not a program");
  const Target target = target_for(backend, dump);
  const std::string text = psir::print(program);
  std::vector<std::shared_ptr<Kernel>> kernels;
  for (const psir::KernelDecl& decl : program.kernels) {
    std::vector<Kernel::Variant> variants;
    Kernel::Code code;
    psir::Module generated;
    for (const psir::Function& f : program.functions) {
      if (f.kernel != decl.name) continue;
      generated.functions.push_back(f);
      generated.functions.back().kernel.clear();  // a version-1 module, as every backend reads
    }
    if (!generated.functions.empty()) {
      auto [built, functions] = build_generated(target, std::move(generated), s);
      add_generated(variants, built, std::move(functions));
      append(code, std::move(built));
    }
    std::string sources;  // part of the kernel's identity
    for (const Component& c : registry_.components()) {
      if (c.description->kind != ASP_COMPONENT_KERNEL_SOURCE || !c.description->domain || domain != c.description->domain) continue;
      const auto* k = static_cast<const asp_kernel_source*>(c.description->vtable);
      if (decl.name != k->kernel || !runs_on(k->language, target.language)) continue;
      for (const std::vector<std::int64_t>& values : combinations(*k)) {
        Instantiation inst = instantiate(decl, c, values, target.device != nullptr);
        if (std::any_of(variants.begin(), variants.end(), [&](const Kernel::Variant& v) { return v.function.name == inst.name; })) {
          throw std::runtime_error("kernel " + decl.name + " has two variants named " + inst.name);
        }
        const std::string source = inst.prelude + k->source;
        if (target.dump) std::ofstream(*target.dump / (inst.name + "." + backend + source_extension(target.language))) << source;
        sources += source;
        if (target.device) {
          auto module = std::make_unique<DeviceCode>(target.device, build_device(target, source, inst.name, s),
                                                     std::vector<psir::Function>{inst.function});
          variants.push_back({std::move(inst.function), nullptr, module.get(), 0});
          code.device.push_back(std::move(module));
        } else {
          std::shared_ptr<LoadedCode> loaded = build_host(target, cache_, source, inst.name, s);
          auto entry = reinterpret_cast<Kernel::Entry>(loaded->symbol(ASP_C_ENTRY_PREFIX + inst.name));
          if (!entry) {
            throw std::runtime_error("kernel source '" + std::string(c.description->name) + "' defines no " +
                                     ASP_C_ENTRY_PREFIX + inst.name + " (define it as ASP_VARIANT)");
          }
          variants.push_back({std::move(inst.function), entry});
          code.host.push_back(std::move(loaded));
        }
      }
    }
    if (variants.empty()) {
      throw std::runtime_error("kernel " + decl.name + " has no variant that backend " + backend + " runs (it emits " +
                               target.language + ")");
    }
    std::vector<bool> written;
    for (const psir::Param& p : decl.params) {
      written.push_back(std::find(decl.writes.begin(), decl.writes.end(), p.name) != decl.writes.end());
    }
    kernels.push_back(std::make_shared<Kernel>(cache_key({target.identity, text, decl.name, sources}), backend,
                                               std::move(variants), std::move(code), std::move(written), tuning_));
  }
  return kernels;
}

}  // namespace asp::core
