#include "asp/core/specializer.hpp"

#include "asp/core/code_cache.hpp"
#include "asp/core/log.hpp"

#include <asp/ir_text.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

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
    : registry_(registry), compiler_(registry, cache, tuning) {}

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

Specializer::Result Specializer::specialize(const std::string& domain, const std::string& tree_text,
                                            const std::vector<asp_arg>& args, Dump* dump) {
  if (dump) dump->stage("tree", tree_text);
  const auto& components = registry_.components();
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
  dsir = optimize(registry_, domain, dialect, std::move(dsir), dump);

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
  psir_text = optimize(registry_, domain, std::string(psir::dialect), psir::print(module), dump);
  module = parse_psir(psir_text, "the PSIR optimizers of domain " + domain);
  if (module.functions.empty() && !module.program) throw std::runtime_error(label(*lowering) + " produced no function");
  // What the caller's arguments feed: a single kernel's parameters (every
  // variant takes the same ones), or a program's.
  psir::Function signature;
  if (module.program) {
    signature = {"program", module.program->params};
  } else {
    signature = module.functions.front();
    for (const psir::Function& variant : module.functions) {
      const bool same = variant.params.size() == signature.params.size() &&
                        std::equal(variant.params.begin(), variant.params.end(), signature.params.begin(), same_params);
      if (!same) {
        throw std::runtime_error(label(*lowering) + ": variant " + variant.name + " has other parameters than " +
                                 signature.name + "; every variant of a kernel takes the same ones");
      }
    }
  }
  const std::string& name = module.program ? domain : signature.name;
  // Before compiling: arguments the kernel cannot take are reported without compiling anything.
  Binding binding(signature, args);
  psir_text = psir::print(module);

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
