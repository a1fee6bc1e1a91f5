#include "asp/core/kernel.hpp"

#include "asp/core/log.hpp"
#include "asp/core/platform.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <chrono>
#include <fstream>
#include <stdexcept>
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

Kernel::Kernel(std::string key, std::string backend, std::vector<Variant> variants, std::shared_ptr<LoadedCode> code,
               TuningDatabase* tuning)
    : key_(std::move(key)),
      backend_(std::move(backend)),
      variants_(std::move(variants)),
      code_(std::move(code)),
      tuning_(tuning) {}

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
  const int status = variants_[chosen].entry(args);
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
  if (language != "c" && language != "c+openmp") {
    throw std::runtime_error("backend '" + backend + "' emits " + language + ", which the core does not compile");
  }

  auto start = Clock::now();
  const std::string canonical = psir::print(module);
  const std::string source = text_from_sink(
      [&](const asp_text_sink* sink, asp_host_context* ctx) { return vtable->generate(vtable->self, ctx, canonical.c_str(), sink); },
      "backends." + backend);
  s.generate_seconds = seconds_since(start);

  // ASP_DUMP: what ran, readable by the user (DESIGN.md §2).
  const Setting* dump = registry_.config().find("dump");
  if (dump) {
    const std::filesystem::path dir = std::get<std::string>(dump->value);
    std::filesystem::create_directories(dir);
    const std::string stem = module.functions.front().name + "." + backend;
    std::ofstream(dir / (stem + ".psir")) << canonical;
    std::ofstream(dir / (stem + ".c")) << source;
  }

  const bool openmp = language == "c+openmp";
  const JitDriver& driver = driver_for(backend);
  const std::string abi = std::to_string(ASP_ABI_VERSION);
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
    request.name = module.functions.front().name;
    request.openmp = openmp;
    // Failing sources are kept where the user looks: the dump directory, else beside the cache.
    request.save_dir = dump ? std::filesystem::path(std::get<std::string>(dump->value))
                       : cache_ ? cache_->dir() / "failed"
                                : std::filesystem::temp_directory_path() / ("asp-failed-" + std::to_string(getuid()));
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
