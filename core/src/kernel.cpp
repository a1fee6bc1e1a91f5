#include "asp/core/kernel.hpp"

#include "asp/core/log.hpp"
#include "asp/core/platform.hpp"
#include "jit_common.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace asp::core {

namespace {

using Clock = std::chrono::steady_clock;

std::size_t psir_type_size(psir::Type t) {
  switch (t) {
    case psir::Type::f64: case psir::Type::i64: case psir::Type::u64: return 8;
    case psir::Type::f32: case psir::Type::i32: case psir::Type::u32: return 4;
    case psir::Type::i16: case psir::Type::u16: return 2;
    case psir::Type::i8: case psir::Type::u8: case psir::Type::boolean: return 1;
  }
  return 8;
}

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
  const Platform& p = platform();
  return p.cpu_model + "/" + p.architecture + "/" + std::to_string(p.cores) + "c" + std::to_string(p.pus) + "t";
}

class Kernel::Slot {
 public:
  Slot(std::unique_ptr<Tuner> tuner, std::size_t variants) : tuner(std::move(tuner)), runnable(variants) {}
  std::unique_ptr<Tuner> tuner;
  // Scratch for the run checks of one call, kept here (under the kernel's
  // mutex) so that a call does not allocate.
  std::vector<bool> runnable;
};

namespace {

// Which parameters the functions store into.
std::vector<bool> written_params(const std::vector<psir::Function>& functions) {
  std::vector<bool> written;
  for (const psir::Function& f : functions) {
    written.resize(std::max(written.size(), f.params.size()));
    std::function<void(const psir::Block&)> walk = [&](const psir::Block& block) {
      for (const psir::Stmt& s : block) {
        if (s.kind == psir::Stmt::Kind::store) {
          for (std::size_t i = 0; i < f.params.size(); ++i) written[i] = written[i] || f.params[i].name == s.name;
        }
        if (s.loop) walk(s.loop->body);
        walk(s.then_block);
        walk(s.else_block);
      }
    };
    walk(f.body);
  }
  return written;
}

std::vector<psir::Function> functions_of(const std::vector<Kernel::Variant>& variants) {
  std::vector<psir::Function> functions;
  for (const Kernel::Variant& v : variants) functions.push_back(v.function);
  return functions;
}

}  // namespace

DeviceCode::DeviceCode(std::shared_ptr<const DeviceRuntime> device, asp_device_module* module,
                       std::vector<psir::Function> functions)
    : device_(std::move(device)), module_(module), functions_(std::move(functions)) {
  for (const psir::Function& f : functions_) {
    std::vector<GpuLoop>& loops = loops_.emplace_back();
    std::function<void(const psir::Block&)> walk = [&](const psir::Block& block) {
      for (const psir::Stmt& s : block) {
        if (s.loop && (s.loop->kind == psir::LoopKind::gpu_block || s.loop->kind == psir::LoopKind::gpu_thread)) {
          const psir::Loop& l = *s.loop;
          for (const psir::ExprPtr& bound : {l.lower, l.upper}) {
            if (const std::string why = psir::gpu_bound_problem(f, bound); !why.empty()) {
              unload_on_failure();
              throw std::runtime_error("kernel " + f.name + ": the bounds of gpu loop '" + l.var + "' " + why +
                                       ", so no launch grid can be computed");
            }
          }
          loops.push_back({l.kind == psir::LoopKind::gpu_block, l.dim, l.lower, l.upper, l.step});
        }
        if (s.loop) walk(s.loop->body);
        walk(s.then_block);
        walk(s.else_block);
      }
    };
    walk(f.body);
  }
}

void DeviceCode::unload_on_failure() noexcept {
  device_->unload(module_);
  module_ = nullptr;
}

DeviceCode::~DeviceCode() {
  if (module_) device_->unload(module_);
}

asp_launch_config DeviceCode::launch_config(std::size_t variant, void* const* args) const {
  asp_launch_config config{sizeof(asp_launch_config), {1, 1, 1}, {1, 1, 1}};
  bool seen[2][3] = {};
  for (const GpuLoop& l : loops_.at(variant)) {
    const psir::Function& f = functions_[variant];
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
      a.scalar_size = psir_type_size(p.type);
    }
  }
  const asp_launch_config config = launch_config(variant, args);
  for (int d = 0; d < 3; ++d) {
    if (config.grid[d] == 0 || config.block[d] == 0) return ASP_C_OK;  // no iteration to run
  }
  return device_->launch(module_, f.name, device_args.data(), f.params.size(), config);
}

Kernel::Kernel(std::string key, std::string backend, std::vector<Variant> variants, std::shared_ptr<LoadedCode> code,
               TuningDatabase* tuning)
    : key_(std::move(key)),
      backend_(std::move(backend)),
      variants_(std::move(variants)),
      code_(std::move(code)),
      written_(written_params(functions_of(variants_))),
      tuning_(tuning) {}

Kernel::Kernel(std::string key, std::string backend, std::unique_ptr<DeviceCode> code, TuningDatabase* tuning)
    : key_(std::move(key)),
      backend_(std::move(backend)),
      device_code_(std::move(code)),
      written_(written_params(device_code_->functions())),
      tuning_(tuning) {
  for (const psir::Function& f : device_code_->functions()) variants_.push_back({f, nullptr});
}

Kernel::~Kernel() = default;

bool Kernel::runnable(std::size_t i, void* const* args) const { return evaluate_run_check(variants_.at(i).function, args); }

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

Kernel::Run Kernel::run(Slot& slot, void* const* args) {
  std::size_t chosen;
  bool measure;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < variants_.size(); ++i) slot.runnable[i] = runnable(i, args);
    const std::optional<std::size_t> choice = slot.tuner->choose(slot.runnable);
    if (!choice) {
      throw std::runtime_error("no variant of kernel " + key_ + " can run with these arguments (every run check fails)");
    }
    chosen = *choice;
    measure = !slot.tuner->settled(slot.runnable);
  }
  const auto start = Clock::now();
  const int status = device_code_ ? device_code_->launch(chosen, args) : variants_[chosen].entry(args);
  const double elapsed = seconds_since(start);
  if (status == ASP_C_OK && measure) {
    std::lock_guard lock(mutex_);
    slot.tuner->report(chosen, elapsed);
  }
  return {chosen, status, elapsed};
}

std::string Kernel::describe_status(std::size_t variant, int status) const {
  if (status == ASP_C_ZERO_DIVISION) return "division by zero";
  const auto& params = variants_.at(variant).function.params;
  const int k = status - ASP_C_OUT_OF_BOUNDS;
  if (k >= 0 && static_cast<std::size_t>(k) < params.size()) {
    return "a data-dependent index fell outside '" + params[static_cast<std::size_t>(k)].name + "'";
  }
  return "the kernel failed with status " + std::to_string(status);
}

KernelCompiler::KernelCompiler(Registry& registry, const CodeCache* cache, TuningDatabase* tuning)
    : registry_(registry), cache_(cache), tuning_(tuning) {}

const JitDriver& KernelCompiler::driver_for(const std::string& backend) {
  std::lock_guard lock(mutex_);
  auto& driver = drivers_[backend];
  if (!driver) {
    const Config& config = registry_.config();
    const std::string prefix = "backends." + backend;
    if (config.get_string(prefix + ".jit").value_or("orc") == "system") {
      driver = make_system_driver(config.get_string(prefix + ".compiler").value_or("cc"),
                                  config.get_list(prefix + ".flags").value_or(std::vector<std::string>{}));
    } else {
      driver = make_orc_driver();
    }
  }
  return *driver;
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

bool device_language(std::string_view language) { return language == "opencl-c" || language == "cuda-c"; }

const char* source_extension(const std::string& language) {
  return language == "opencl-c" ? ".cl" : language == "cuda-c" ? ".cu" : ".c";
}

}  // namespace

bool KernelCompiler::compiles(std::string_view language) {
  return language == "c" || language == "c+openmp" || device_language(language);
}

std::shared_ptr<Kernel> KernelCompiler::compile(std::string_view psir_text, const std::string& backend, Stats* stats) {
  Stats local;
  Stats& s = stats ? *stats : local;
  s = {};
  psir::Module module = psir::parse(psir_text);
  psir::verify(module);
  if (module.functions.empty()) throw std::runtime_error("the PSIR module has no function");

  const BackendState* state = registry_.backend(backend);
  if (!state) throw std::runtime_error("backend '" + backend + "' is not configured");
  if (!state->available) throw std::runtime_error("backend '" + backend + "' is unavailable: " + state->reason);
  const asp_backend* vtable = state->vtable;
  if (!ASP_HAS_FIELD(vtable, asp_backend, runtime) || !vtable->generate || !vtable->language) {
    throw std::runtime_error("backend '" + backend + "' does not generate code");
  }
  const std::string language = vtable->language;
  const bool device = device_language(language);
  if (!compiles(language)) {
    throw std::runtime_error("backend '" + backend + "' emits " + language + ", which the core does not compile");
  }

  auto start = Clock::now();
  module = psir::parse(optimize_for(backend, psir::print(module)));
  const std::string canonical = psir::print(module);
  const std::string source = text_from_sink(
      [&](const asp_text_sink* sink, asp_host_context* ctx) { return vtable->generate(vtable->self, ctx, canonical.c_str(), sink); },
      "backends." + backend);
  s.generate_seconds = seconds_since(start);

  // ASP_DUMP: what ran, readable by the user (DESIGN.md §2).
  const Setting* dump = registry_.config().find("dump");
  const std::string name = module.functions.front().name;
  if (dump) {
    const std::filesystem::path dir = std::get<std::string>(dump->value);
    std::filesystem::create_directories(dir);
    const std::string stem = name + "." + backend;
    std::ofstream(dir / (stem + ".psir")) << canonical;
    std::ofstream(dir / (stem + source_extension(language))) << source;
  }
  // Failing sources are kept where the user looks: the dump directory, else beside the cache.
  const std::filesystem::path save_dir =
      dump     ? std::filesystem::path(std::get<std::string>(dump->value))
      : cache_ ? cache_->dir() / "failed"
               : std::filesystem::temp_directory_path() / ("asp-failed-" + std::to_string(getuid()));
  const std::string abi = std::to_string(ASP_ABI_VERSION);

  if (device) {
    std::shared_ptr<const DeviceRuntime> target = device_for(backend, vtable);
    const std::string key = cache_key({abi, backend, state->library->version, target->target(), language, source});
    start = Clock::now();
    std::optional<std::string> binary = cache_ ? cache_->load(key) : std::nullopt;
    s.cache_hit = binary.has_value();
    if (!binary) {
      try {
        binary = target->compile(source);
      } catch (const CompileError& e) {
        CompileRequest request;
        request.source = source;
        request.name = name;
        request.save_dir = save_dir;
        request.extension = source_extension(language);
        throw jit_detail::compile_error(request, e.what(), e.log());
      }
      s.compile_seconds = seconds_since(start);
      if (cache_) cache_->store(key, *binary, language + " binary");
    }
    start = Clock::now();
    auto code = std::make_unique<DeviceCode>(target, target->load(*binary), std::move(module.functions));
    s.load_seconds = seconds_since(start);
    log(LogLevel::debug, "kernel", key + (s.cache_hit ? " loaded from the cache" : " compiled") + " for " + backend);
    return std::make_shared<Kernel>(key, backend, std::move(code), tuning_);
  }

  const bool openmp = language == "c+openmp";
  const JitDriver& driver = driver_for(backend);
  const std::string key = cache_key({abi, backend, state->library->version, driver.identity(), language, source});

  start = Clock::now();
  std::optional<std::string> artifact;
  std::filesystem::path file;
  // A shared library is loaded from its (verified) cache file, an object from memory.
  const bool needs_file = driver.artifact_kind() == "shared-library";
  if (cache_ && needs_file) {
    if (auto path = cache_->load_file(key)) {
      artifact.emplace();
      file = *path;
    }
  } else if (cache_) {
    artifact = cache_->load(key);
  }
  s.cache_hit = artifact.has_value();
  if (!artifact) {
    CompileRequest request;
    request.source = source;
    request.name = name;
    request.openmp = openmp;
    request.save_dir = save_dir;
    artifact = driver.compile(request);
    s.compile_seconds = seconds_since(start);
    if (cache_) {
      cache_->store(key, *artifact, driver.artifact_kind());
      if (needs_file) {
        if (auto path = cache_->load_file(key)) file = *path;
      }
    }
  }

  start = Clock::now();
  std::shared_ptr<LoadedCode> code = driver.load(*artifact, file);
  if (auto* init = reinterpret_cast<void (*)(const void*)>(code->symbol(ASP_C_RUNTIME_INIT_SYMBOL))) {
    init(vtable->runtime ? vtable->runtime(vtable->self) : nullptr);
  }
  std::vector<Kernel::Variant> variants;
  for (psir::Function& f : module.functions) {
    auto entry = reinterpret_cast<Kernel::Entry>(code->symbol(ASP_C_ENTRY_PREFIX + f.name));
    if (!entry) throw std::runtime_error("the compiled kernel lacks its entry point " ASP_C_ENTRY_PREFIX + f.name);
    variants.push_back({std::move(f), entry});
  }
  s.load_seconds = seconds_since(start);
  log(LogLevel::debug, "kernel",
      key + (s.cache_hit ? " loaded from the cache" : " compiled") + " for " + backend + " (" + driver.name() + ")");
  return std::make_shared<Kernel>(key, backend, std::move(variants), std::move(code), tuning_);
}

}  // namespace asp::core
