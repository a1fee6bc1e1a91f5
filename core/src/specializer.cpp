#include "asp/core/specializer.hpp"

#include "asp/core/code_cache.hpp"
#include "asp/core/log.hpp"
#include "asp/core/platform.hpp"
#include "jit_common.hpp"

#include <asp/ir_text.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <mutex>
#include <optional>

namespace asp::core {

namespace {

using TextCall = std::function<asp_status(asp_host_context*, const asp_text_sink*)>;

std::string label(const Component& c) {
  return std::string(kind_name(c.description->kind)) + " '" + c.description->name + "' (" + c.library->section + "." +
         c.library->name + ")";
}

std::string with_location(const PluginError& error) {
  if (!error.where || error.where->line == 0) return error.message;
  const Origin& at = *error.where;
  return (at.source.empty() ? "" : at.source + ":") + "line " + std::to_string(at.line) +
         (at.column ? ", column " + std::to_string(at.column) : "") + ": " + error.message;
}

// Runs one call of a component that writes text, and turns the error it
// reports into the exception that tells the caller what to do: fall back
// (Unsupported), fix the arguments (InvalidArgument), or report a bug.
std::string run_component(const Component& c, const TextCall& call) {
  std::string text;
  const asp_text_sink sink{sizeof(asp_text_sink), &text, [](void* context, const char* data, size_t length) {
                             static_cast<std::string*>(context)->append(data, length);
                           }};
  const std::string who = c.library->section + "." + c.library->name;
  if (auto error = call_plugin(who, [&](asp_host_context* ctx) { return call(ctx, &sink); })) {
    switch (error->status) {
      case ASP_ERR_UNSUPPORTED: throw Unsupported(error->message, error->where.value_or(Origin{}));
      case ASP_ERR_INVALID_ARGUMENT: throw InvalidArgument(with_location(*error));
      default: throw std::runtime_error(label(c) + ": " + error->message);
    }
  }
  return text;
}

std::string dialect_of(const std::string& text, const Component& c) {
  auto header = ir::parse_header(text);
  if (!header) throw std::runtime_error(label(c) + " returned text without an 'asp-ir <version> <dialect>' header");
  return header->dialect;
}

bool serves(const Component& c, asp_component_kind kind, const std::string& domain) {
  return c.description->kind == kind && c.description->domain && domain == c.description->domain;
}

psir::Module parse_psir(const std::string& text, const std::string& producer) {
  try {
    psir::Module module = psir::parse(text);
    psir::verify(module);
    return module;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(producer + " produced invalid PSIR: " + e.what());
  }
}

bool same_params(const psir::Param& a, const psir::Param& b) {
  return a.kind == b.kind && a.name == b.name && a.type == b.type && a.shape == b.shape && a.strides == b.strides;
}

void dump(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  if (!out) log(LogLevel::warning, "specializer", "cannot write " + file.string());
}

// The arguments as a specialization sees them: names, dtypes, shapes, strides.
std::string describe(const std::vector<asp_arg>& args) {
  std::ostringstream out;
  for (const asp_arg& a : args) {
    out << (a.name ? a.name : "?") << ":";
    if (a.kind == ASP_ARG_SCALAR) {
      out << int(a.scalar_type.code) << "/" << int(a.scalar_type.bits) << " ";
      continue;
    }
    out << int(a.tensor.dtype.code) << "/" << int(a.tensor.dtype.bits) << "[";
    for (int d = 0; d < a.tensor.ndim; ++d) out << (d ? "," : "") << a.tensor.shape[d];
    if (a.tensor.strides) {
      out << ";";
      for (int d = 0; d < a.tensor.ndim; ++d) out << (d ? "," : "") << a.tensor.strides[d];
    }
    out << "] ";
  }
  return out.str();
}

// ---- the specialization cache ------------------------------------------------
//
// A warm start would repeat the front half of a specialization (frontend,
// the domain's optimizers, lowering, the domain's PSIR optimizers) only to
// get what an earlier process got: on a 16^3 Laplacian that was most of the
// warm start, the stencil lowering's hwloc probe alone several milliseconds.
// So the DSIR and PSIR it produced are kept in the code cache, keyed by
// everything they can depend on: the Tree, the argument descriptions
// (scalar values too: a frontend may read them), the domain, every loaded
// plugin and backend (name, version, ABI and the binary file: its device,
// inode, size and modification time), the configuration, the core (version,
// ABI and its binary) and the machine (a lowering may probe it, as the
// stencil plugin probes the last-level cache). The backend half (backend
// optimizers, code generation, the binary) has its own key in KernelCompiler.

constexpr std::string_view front_kind = "specialization";
constexpr std::string_view front_magic = "asp-specialization 1\n";

std::string file_identity(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path.string() + " (cannot stat)";
  return path.string() + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + " " +
         std::to_string(st.st_size) + "B " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// The core's own shared library (a rebuilt core, maybe by another compiler, is another core).
std::string core_binary() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<const void*>(&core_binary), &info) == 0 || info.dli_fname == nullptr) return "?";
  return file_identity(info.dli_fname);
}

std::string front_identity(const Registry& registry) {
  const auto& host = jit_detail::host_target();
  std::string id = std::string(front_magic) + "core " ASP_CORE_VERSION " abi " + std::to_string(ASP_ABI_VERSION) + " " +
                   core_binary() + "\nmachine " + host.triple + " " + host.cpu + " " + host.features_digest + " " +
                   machine_identity();
  for (const auto& library : registry.libraries()) {
    id += "\n" + library->section + "." + library->name + " state " + std::to_string(static_cast<int>(library->state)) +
          " " + library->plugin_name + " " + library->version + " abi " + std::to_string(library->abi_version) + " " +
          file_identity(library->path);
  }
  for (const auto& [key, setting] : registry.config().settings()) {
    // What is logged or dumped changes no result (a dump bypasses this cache).
    if (key == "log" || key == "dump") continue;
    id += "\n" + key + "=" + format_value(setting.value);
  }
  return id;
}

std::string describe_values(const std::vector<asp_arg>& args) {
  std::string values;
  for (const asp_arg& a : args) {
    if (a.kind != ASP_ARG_SCALAR) continue;
    std::uint64_t bits = 0;
    std::memcpy(&bits, &a.scalar, sizeof bits);
    values += std::to_string(bits) + " ";
  }
  return values;
}

std::string encode_front(const std::string& dsir, const std::string& psir) {
  std::string out(front_magic);
  for (const std::string* field : {&dsir, &psir}) out += std::to_string(field->size()) + "\n" + *field;
  return out;
}

// The fields of an entry encode_front() wrote; std::nullopt when it is not one.
std::optional<std::pair<std::string, std::string>> decode_front(std::string_view in) {
  if (!in.starts_with(front_magic)) return std::nullopt;
  in.remove_prefix(front_magic.size());
  std::string fields[2];
  for (std::string& field : fields) {
    const std::size_t newline = in.find('\n');
    if (newline == std::string_view::npos || newline == 0 || newline > 19) return std::nullopt;
    std::size_t size = 0;
    for (char c : in.substr(0, newline)) {
      if (c < '0' || c > '9') return std::nullopt;
      size = size * 10 + static_cast<std::size_t>(c - '0');
    }
    in.remove_prefix(newline + 1);
    if (size > in.size()) return std::nullopt;
    field = std::string(in.substr(0, size));
    in.remove_prefix(size);
  }
  if (!in.empty()) return std::nullopt;
  return std::make_pair(std::move(fields[0]), std::move(fields[1]));
}

}  // namespace

// ASP_DUMP=DIR: one directory per specialization, DIR/<domain>-<key>/, named
// by a hash of the domain, the Tree and the arguments' descriptions, holding
// every stage in order (the Tree, the frontend's and each optimizer's DSIR,
// the lowering's and each optimizer's PSIR, each backend's PSIR and sources)
// and, when a step failed, error.txt with what it said (a compiler's whole
// log included). DIR/index.txt maps directories to domain, kernel and arguments.
class Specializer::Dump {
 public:
  Dump(const std::filesystem::path& base, const std::string& domain, const std::string& tree, const std::vector<asp_arg>& args) {
    const std::string arguments = describe(args);
    dir = base / (domain + "-" + cache_key({domain, tree, arguments}).substr(0, 16));
    std::filesystem::create_directories(dir);
    const std::string line = dir.filename().string() + "\t" + domain + "\t" + arguments + "\n";
    std::lock_guard lock(index_mutex());
    std::ifstream existing(base / "index.txt");
    const std::string index((std::istreambuf_iterator<char>(existing)), std::istreambuf_iterator<char>());
    if (index.find(line) == std::string::npos) std::ofstream(base / "index.txt", std::ios::app) << line;
  }
  // Writes the next stage, numbered in order: "03-stencil-fold-constants.dsir".
  void stage(const std::string& name, const std::string& text) {
    const std::string number = std::to_string(++stages_);
    dump(dir / ((number.size() < 2 ? "0" : "") + number + "-" + name), text);
  }
  void error(const std::string& text) {
    std::ofstream(dir / "error.txt", std::ios::app) << text << "\n";
  }
  std::filesystem::path dir;

 private:
  static std::mutex& index_mutex() {
    static std::mutex m;
    return m;
  }
  int stages_ = 0;
};

namespace {

// Runs every optimizer of the domain that reads `dialect`, in registration order.
std::string optimize(const Registry& registry, const std::string& domain, const std::string& dialect, std::string ir,
                     Specializer::Dump* dump) {
  for (const Component& c : registry.components()) {
    if (!serves(c, ASP_COMPONENT_OPTIMIZER, domain)) continue;
    const auto* optimizer = static_cast<const asp_optimizer*>(c.description->vtable);
    if (!optimizer->reads || dialect != optimizer->reads) continue;
    if (!optimizer->run) throw std::runtime_error(label(c) + " provides no run function");
    ir = run_component(c, [&](asp_host_context* ctx, const asp_text_sink* sink) {
      return optimizer->run(optimizer->self, ctx, ir.c_str(), sink);
    });
    if (const std::string out = dialect_of(ir, c); out != dialect) {
      throw std::runtime_error(label(c) + " read " + dialect + " but wrote " + out);
    }
    if (dump) dump->stage(std::string(c.description->name) + (dialect == psir::dialect ? ".psir" : ".dsir"), ir);
  }
  return ir;
}


// Builds the variant that the first call with `args` runs, and adds how to
// `stats`; while the tuner still has variants to try, the others are built in
// the background after the first run (a warm start, whose tuning record has
// settled, builds nothing more).
void build_first(Kernel* kernel, const Binding& binding, const std::vector<asp_arg>& args,
                 KernelCompiler::Stats& stats) {
  Binding::Frame frame;
  std::string signature;
  bool bound = true;
  try {
    binding.bind(args.data(), args.size(), frame);
    signature = binding.signature(args.data());
  } catch (const std::runtime_error&) {
    bound = false;  // the call will say what is wrong; build the first variant meanwhile
  }
  const Kernel::Built built = kernel->build_first(signature, bound ? frame.entry.data() : nullptr);
  stats.cache_hit = stats.cache_hit && built.cache_hit;
  stats.compile_seconds += built.compile_seconds;
  stats.load_seconds += built.load_seconds;
  if (!bound || !kernel->settled(signature, frame.entry.data())) kernel->build_rest_in_background();
}

}  // namespace

Specializer::Specializer(Registry& registry, const CodeCache* cache, TuningDatabase* tuning)
    : registry_(registry),
      cache_(cache),
      front_identity_(cache ? front_identity(registry) : std::string()),
      compiler_(registry, cache, tuning) {}

Specializer::Result Specializer::specialize(const std::string& domain, const std::string& tree_text,
                                            const std::vector<asp_arg>& args) {
  const Setting* setting = registry_.config().find("dump");
  if (!setting) return specialize(domain, tree_text, args, nullptr);
  std::optional<Dump> opened;
  try {
    opened.emplace(std::get<std::string>(setting->value), domain, tree_text, args);
  } catch (const std::exception& e) {  // a dump directory that cannot be written costs the dump, not the kernel
    log(LogLevel::warning, "specializer", "ASP_DUMP: " + std::string(e.what()) + "; nothing is dumped");
    return specialize(domain, tree_text, args, nullptr);
  }
  Dump& dump = *opened;
  try {
    return specialize(domain, tree_text, args, &dump);
  } catch (const CompileError& e) {
    dump.error(std::string(e.what()) + "\n" + e.log());
    throw;
  } catch (const std::exception& e) {
    dump.error(e.what());
    throw;
  }
}

namespace {

// What the front half of a specialization produced: the DSIR the lowering
// read, and the PSIR (verified, printed) that goes to the backends.
struct Front {
  std::string dsir;
  std::string psir;
  psir::Module module;
};

Front run_front(const Registry& registry, const std::string& domain, const std::string& tree_text,
                const std::vector<asp_arg>& args, Specializer::Dump* dump) {
  if (dump) dump->stage("tree", tree_text);
  const auto& components = registry.components();
  const Component* frontend = nullptr;
  for (const Component& c : components) {
    if (serves(c, ASP_COMPONENT_FRONTEND, domain)) {
      frontend = &c;
      break;
    }
  }
  if (!frontend) {
    throw Unsupported("no frontend for domain " + domain + "; is its plugin configured? see `asp info`");
  }
  const auto* translator = static_cast<const asp_frontend*>(frontend->description->vtable);
  if (!translator->translate) throw std::runtime_error(label(*frontend) + " provides no translate function");
  std::string dsir = run_component(*frontend, [&](asp_host_context* ctx, const asp_text_sink* sink) {
    return translator->translate(translator->self, ctx, tree_text.c_str(), args.data(), args.size(), sink);
  });
  const std::string dialect = dialect_of(dsir, *frontend);
  if (dump) dump->stage(std::string(frontend->description->name) + ".dsir", dsir);
  dsir = optimize(registry, domain, dialect, std::move(dsir), dump);

  const Component* lowering = nullptr;
  for (const Component& c : components) {
    const auto* l = static_cast<const asp_lowering*>(c.description->vtable);
    if (serves(c, ASP_COMPONENT_LOWERING, domain) && l->reads && dialect == l->reads) {
      lowering = &c;
      break;
    }
  }
  if (!lowering) throw std::runtime_error("domain " + domain + " has no lowering that reads " + dialect);
  const auto* lower = static_cast<const asp_lowering*>(lowering->description->vtable);
  if (!lower->lower) throw std::runtime_error(label(*lowering) + " provides no lower function");
  std::string psir_text = run_component(*lowering, [&](asp_host_context* ctx, const asp_text_sink* sink) {
    return lower->lower(lower->self, ctx, dsir.c_str(), sink);
  });
  if (dialect_of(psir_text, *lowering) != psir::dialect) {
    throw std::runtime_error(label(*lowering) + " wrote " + dialect_of(psir_text, *lowering) + ", not psir");
  }
  // The domain's own PSIR optimizers, each checked like the lowering.
  psir::Module module = parse_psir(psir_text, label(*lowering));
  if (dump) dump->stage(std::string(lowering->description->name) + ".psir", psir_text);
  psir_text = optimize(registry, domain, std::string(psir::dialect), psir::print(module), dump);
  module = parse_psir(psir_text, "the PSIR optimizers of domain " + domain);
  if (module.functions.empty() && !module.program) throw std::runtime_error(label(*lowering) + " produced no function");
  if (!module.program) {
    const psir::Function& first = module.functions.front();
    for (const psir::Function& variant : module.functions) {
      const bool same = variant.params.size() == first.params.size() &&
                        std::equal(variant.params.begin(), variant.params.end(), first.params.begin(), same_params);
      if (!same) {
        throw std::runtime_error(label(*lowering) + ": variant " + variant.name + " has other parameters than " +
                                 first.name + "; every variant of a kernel takes the same ones");
      }
    }
  }
  psir_text = psir::print(module);
  return {std::move(dsir), std::move(psir_text), std::move(module)};
}

}  // namespace

// The front half from the specialization cache when an earlier process (or
// call) stored it, else run and stored. A refused entry (truncated, corrupt,
// not ours: CodeCache says why) or one that does not decode or parse is
// rebuilt and replaced, never used.
Specializer::Result Specializer::specialize(const std::string& domain, const std::string& tree_text,
                                            const std::vector<asp_arg>& args, Dump* dump) {
  std::optional<Front> front;
  std::string key;
  if (cache_ && !dump) {  // a dump shows every stage, so it runs them
    key = cache_key({front_identity_, domain, tree_text, describe(args), describe_values(args)});
    if (std::optional<std::string> entry = cache_->load(key)) {
      std::optional<std::pair<std::string, std::string>> fields = decode_front(*entry);
      try {
        if (!fields) throw std::runtime_error("it is not a specialization entry");
        psir::Module module = psir::parse(fields->second);
        psir::verify(module);
        front = Front{std::move(fields->first), std::move(fields->second), std::move(module)};
        log(LogLevel::debug, "specializer", domain + " " + key + ": DSIR and PSIR from the specialization cache");
      } catch (const std::runtime_error& e) {
        log(LogLevel::warning, "specializer", "specialization cache entry " + key + " is unusable (" + e.what() + "); it is rebuilt");
      }
    }
  }
  const bool reused = front.has_value();
  if (!front) {
    front = run_front(registry_, domain, tree_text, args, dump);
    if (!key.empty()) {
      try {
        cache_->store(key, encode_front(front->dsir, front->psir), front_kind);
      } catch (const CacheError& e) {  // costs the next process the front half, not this kernel
        log(LogLevel::warning, "specializer", e.what());
      }
    }
  }
  const std::string& dsir = front->dsir;
  const std::string& psir_text = front->psir;
  const psir::Module& module = front->module;
  // What the caller's arguments feed: a single kernel's parameters (every
  // variant takes the same ones), or a program's.
  const psir::Function signature = module.program ? psir::Function{"program", module.program->params} : module.functions.front();
  const std::string& name = module.program ? domain : signature.name;
  // Before compiling: arguments the kernel cannot take are reported without compiling anything.
  Binding binding(signature, args);

  const BackendSelection selection = registry_.select();
  // No backend here is a reason to run the Python function (DESIGN §2), not a failure.
  if (selection.order.empty()) throw Unsupported("no backend can run kernel " + name + ": " + selection.problem);
  std::optional<CompileError> compile_error;
  std::string failures;
  for (const BackendState* backend : selection.order) {
    if (const std::optional<std::string> why = KernelCompiler::cannot_build(backend->vtable)) {
      log(LogLevel::debug, "specializer", "backend " + backend->name + " skipped for " + name + ": " + *why);
      failures += (failures.empty() ? "" : "; ") + backend->name + ": " + *why;
      continue;
    }
    try {
      Result result{nullptr, backend->name, dsir, psir_text, binding, {}};
      result.reused = reused;
      if (module.program) {
        result.kernels = compiler_.compile_program(module, backend->name, domain, &result.stats, dump ? &dump->dir : nullptr);
        result.kernel = result.kernels.front();
        result.program = module;
      } else {
        // Only the variant the first call runs is built now (the others when the tuner needs them).
        result.kernel = compiler_.compile(psir_text, backend->name, &result.stats, true, dump ? &dump->dir : nullptr);
        build_first(result.kernel.get(), binding, args, result.stats);
      }
      return result;
    } catch (const CompileError& e) {
      log(LogLevel::warning, "specializer",
          "backend " + backend->name + " did not compile " + name + " (" + e.what() + "); trying the next one");
      compile_error = e;
      failures += (failures.empty() ? "" : "; ") + backend->name + ": " + e.what();
      if (dump) dump->error("backend " + backend->name + ": " + e.what() + "\n" + e.log());
    } catch (const std::runtime_error& e) {
      log(LogLevel::warning, "specializer",
          "backend " + backend->name + " failed on " + name + " (" + e.what() + "); trying the next one");
      failures += (failures.empty() ? "" : "; ") + backend->name + ": " + e.what();
      if (dump) dump->error("backend " + backend->name + ": " + e.what());
    }
  }
  if (compile_error) throw *compile_error;
  throw Unsupported("no backend could compile kernel " + name + ": " + failures);
}

}  // namespace asp::core
