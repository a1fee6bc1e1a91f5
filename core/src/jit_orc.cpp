// The ORC driver: clang's libraries compile C to an object file in memory;
// one process-wide LLJIT links each object into its own JITDylib.
//
// Compiled with hidden visibility (core/CMakeLists.txt), so that no inline
// clang or LLVM code is exported: another clang in the process (PoCL's) would
// bind to it. The core's own declarations keep default visibility.
#pragma GCC visibility push(default)
#include "asp/core/jit.hpp"
#include "asp/core/log.hpp"
#pragma GCC visibility pop
#include "jit_common.hpp"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/TargetInfo.h>
#include <clang/Basic/Version.h>
#include <clang/CodeGen/BackendUtil.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Frontend/Utils.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectFileInterface.h>
#include <llvm/IR/AbstractCallSite.h>
#include <llvm/IR/DiagnosticHandler.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/CrashRecoveryContext.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/PrettyStackTrace.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/PromoteMemToReg.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace asp::core {
namespace {

using jit_detail::host_target;

// The flags every compile gets, before request.flags (so a request may
// override them, e.g. to opt in to contraction). -ffp-contract=off and no
// fast-math keep float64 results bitwise equal to Python's; so does calling
// libm's pow and powf as written, which Python's ** does, instead of letting
// clang turn pow(x, 2) into x * x (libm's pow is not correctly rounded: the
// two differ in the last bit for some x).
const std::vector<std::string>& base_flags() {
  static const std::vector<std::string> flags = {"-std=c11", "-O3", "-ffp-contract=off", "-fno-math-errno",
                                                 "-fno-builtin-pow", "-fno-builtin-powf"};
  return flags;
}

// What LLVM's fatal errors (report_fatal_error) say during the compile on this
// thread; null outside compile().
thread_local std::string* fatal_errors = nullptr;

// LLVM's fatal error handler. Inside compile() it ends the compile as a crash
// (CrashRecoveryContext::HandleExit jumps back to RunSafely) instead of letting
// LLVM call exit(1) or abort() on the whole process. Elsewhere it says what LLVM
// would and returns, and LLVM ends the process as it always did.
void on_fatal_error(void*, const char* reason, bool) {
  if (llvm::CrashRecoveryContext* recovery = llvm::CrashRecoveryContext::GetCurrent();
      recovery != nullptr && fatal_errors != nullptr) {
    *fatal_errors += std::string("LLVM ERROR: ") + reason + "\n";
    recovery->HandleExit(1);
  }
  std::fprintf(stderr, "LLVM ERROR: %s\n", reason);
}

// LLVM's MachineSink moves each instruction down to the block of its one use.
// A chain through blocks that join again (a sum over the bilateral filter's 342
// neighbours, each with its bounds check's branch) then sinks whole into the
// last block, leaving every product live across all the checks: 312 of the 342
// spilled to the stack and reloaded, which made the filter 1.2x slower than
// gcc's code and 1.9x slower than the same code without the sinking (a 64^3
// filter on one thread; README, "The ORC driver against the system
// compiler"). Off for every compile of this driver: code generation
// is the only user of LLVM's command-line options in this process (PoCL's clang
// is another LLVM), and the option is read when a compile builds its pipeline.
void disable_machine_sinking() {
  auto& options = llvm::cl::getRegisteredOptions();
  const auto option = options.find("disable-machine-sink");
  if (option == options.end() || option->second->addOccurrence(1, "disable-machine-sink", "true"))
    log(LogLevel::warning, "jit", "LLVM has no option disable-machine-sink; generated code may spill more");
}

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    // Outside compile() the handler changes nothing (see on_fatal_error), so
    // another user of libLLVM in the process sees LLVM's usual behaviour.
    llvm::install_fatal_error_handler(on_fatal_error, nullptr);
    // Crash recovery: a signal (SIGSEGV, SIGILL, SIGABRT, ...) raised while a
    // CrashRecoveryContext runs on the same thread returns from its RunSafely
    // with false; a signal anywhere else re-raises with the handlers installed
    // before (Python's faulthandler, the default), as if this were not here.
    llvm::CrashRecoveryContext::Enable();
    disable_machine_sinking();
  });
}

// A test-only way to make clang fail hard (tests/core/test_jit.cpp,
// tests/python/test_compile_crash.py): ASP_TEST_CRASH_CLANG=parser_crash (a trap
// in clang's parser, SIGILL) or =llvm_fatal_error (report_fatal_error) puts
// that `#pragma clang __debug` in front of every source the ORC driver compiles.
// Any other value does nothing. Not a configuration key, so `asp config` and
// configuration files never reach it.
std::string crash_pragma_for_tests() {
  const char* value = std::getenv("ASP_TEST_CRASH_CLANG");
  if (value == nullptr) return {};
  const std::string kind = value;
  if (kind != "parser_crash" && kind != "llvm_fatal_error") return {};
  return "#pragma clang __debug " + kind + "\n";
}

// ---- OpenMP captures by value ------------------------------------------------
//
// clang outlines a `#pragma omp parallel` region into a function that receives
// every variable the region reads as a pointer to the enclosing function's
// copy (gcc passes them in a restrict-qualified struct instead). Any store the
// optimizer cannot tell apart from those variables then forces a reload of
// every one after it: the generated kernels' bounds checks store their status
// with __atomic_store_n, which clang emits without type-based alias
// information, so a 342-point bilateral filter reloaded its strides and base
// pointers after each of its 342 checks (twice the instructions of gcc's code,
// 1.3-2.7x its time).
//
// Where it is provably the same, load such a variable once, at the region's
// entry: a parameter of an internal function called only directly or through
// __kmpc_fork_call (which returns when the region has ended), that the function
// only loads from, and that every call passes the address of a local variable
// of the caller that nothing else can reach (its address goes nowhere but
// loads, stores and this one argument). Nothing can then write the variable
// while the function runs, so every load gives the value at entry.

bool is_synchronous_broker(const llvm::CallBase& call) {
  const llvm::Function* callee = call.getCalledFunction();
  return callee != nullptr && callee->getName() == "__kmpc_fork_call";
}

// Whether `alloca` is reachable only by loads, stores to it, lifetime markers and
// the call arguments `passed`.
bool only_passed_here(const llvm::AllocaInst& alloca, const std::vector<const llvm::Use*>& passed) {
  for (const llvm::Use& use : alloca.uses()) {
    const llvm::User* user = use.getUser();
    if (llvm::isa<llvm::LoadInst>(user) || std::find(passed.begin(), passed.end(), &use) != passed.end()) continue;
    if (const auto* store = llvm::dyn_cast<llvm::StoreInst>(user); store && store->getPointerOperand() == &alloca &&
                                                                  store->getValueOperand() != &alloca)
      continue;
    if (const auto* intrinsic = llvm::dyn_cast<llvm::IntrinsicInst>(user); intrinsic && intrinsic->isLifetimeStartOrEnd())
      continue;
    return false;
  }
  return true;
}

// The loads of `param` when they are its only uses, all simple and of one type; else empty.
std::vector<llvm::LoadInst*> only_loads(llvm::Argument& param) {
  std::vector<llvm::LoadInst*> loads;
  for (llvm::User* user : param.users()) {
    auto* load = llvm::dyn_cast<llvm::LoadInst>(user);
    if (load == nullptr || !load->isSimple() || load->getPointerOperand() != &param ||
        (!loads.empty() && load->getType() != loads.front()->getType()))
      return {};
    loads.push_back(load);
  }
  return loads;
}

bool promote_captures(llvm::Function& function) {
  if (!function.hasLocalLinkage() || function.isDeclaration() || function.arg_empty()) return false;
  std::vector<llvm::AbstractCallSite> sites;
  for (const llvm::Use& use : function.uses()) {
    llvm::AbstractCallSite site(&use);
    if (!site) return false;
    if (site.isCallbackCall() ? !is_synchronous_broker(*site.getInstruction()) : !site.isDirectCall()) return false;
    sites.push_back(site);
  }
  if (sites.empty()) return false;
  // clang spills each parameter to a local first; promote those so that the parameter's own uses show.
  {
    std::vector<llvm::AllocaInst*> allocas;
    for (llvm::Instruction& inst : function.getEntryBlock())
      if (auto* alloca = llvm::dyn_cast<llvm::AllocaInst>(&inst); alloca && llvm::isAllocaPromotable(alloca))
        allocas.push_back(alloca);
    if (!allocas.empty()) {
      llvm::DominatorTree dominators(function);
      llvm::PromoteMemToReg(allocas, dominators);
    }
  }
  bool changed = false;
  const llvm::DataLayout& layout = function.getParent()->getDataLayout();
  for (llvm::Argument& param : function.args()) {
    if (!param.getType()->isPointerTy()) continue;
    std::vector<llvm::LoadInst*> loads = only_loads(param);
    if (loads.size() < 2) continue;
    const llvm::TypeSize size = layout.getTypeStoreSize(loads.front()->getType());
    // What each call passes for the parameter: all of them must be locals only passed here.
    std::vector<const llvm::Use*> passed;
    bool provable = true;
    for (const llvm::AbstractCallSite& site : sites) {
      const int operand = site.getCallArgOperandNo(param.getArgNo());
      if (operand < 0) {
        provable = false;
        break;
      }
      passed.push_back(&site.getInstruction()->getOperandUse(static_cast<unsigned>(operand)));
    }
    for (std::size_t i = 0; provable && i < passed.size(); ++i) {
      const auto* alloca = llvm::dyn_cast<llvm::AllocaInst>(passed[i]->get());
      provable = alloca != nullptr && alloca->isStaticAlloca() && only_passed_here(*alloca, passed) &&
                 layout.getTypeStoreSize(alloca->getAllocatedType()).getKnownMinValue() >= size.getKnownMinValue();
    }
    if (!provable) continue;
    llvm::LoadInst* first = loads.front();
    auto* once = new llvm::LoadInst(first->getType(), &param, param.getName() + ".once", false, first->getAlign(),
                                    &*function.getEntryBlock().getFirstInsertionPt());
    for (llvm::LoadInst* load : loads) {
      load->replaceAllUsesWith(once);
      load->eraseFromParent();
    }
    changed = true;
  }
  return changed;
}

void promote_openmp_captures(llvm::Module& module) {
  for (llvm::Function& function : module) promote_captures(function);
}

// What LLVM's optimizer and code generator report (e.g. a `#pragma omp simd`
// loop they could not vectorize), into the compile's log as clang prints it.
class BackendDiagnostics : public llvm::DiagnosticHandler {
 public:
  BackendDiagnostics(llvm::raw_ostream& out, std::string file) : out_(out), file_(std::move(file)) {}
  bool handleDiagnostics(const llvm::DiagnosticInfo& info) override {
    const auto severity = info.getSeverity();
    if (severity == llvm::DS_Remark || severity == llvm::DS_Note) return true;  // none was asked for
    if (severity == llvm::DS_Error) failed = true;
    out_ << file_ << ": " << (severity == llvm::DS_Error ? "error: " : "warning: ");
    llvm::DiagnosticPrinterRawOStream printer(out_);
    info.print(printer);
    out_ << "\n";
    return true;
  }
  bool failed = false;

 private:
  llvm::raw_ostream& out_;
  std::string file_;
};

std::string describe_crash(int code) {
  if (code > 128 && code < 128 + 65) {
    const int signal = code - 128;
    return "clang crashed with signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "clang stopped with a fatal error";
}

std::string message_of(llvm::Error error) { return llvm::toString(std::move(error)); }

// Why linking failed (e.g. "Symbols not found: [ f ]") goes to the session's
// error reporter, while the lookup that triggered it only learns that it
// failed. Linking runs on the thread that looks up, so load() collects the
// reports of its own thread here.
thread_local std::string* link_errors = nullptr;

// The process-wide LLJIT. Loaded code holds a reference, so the JIT outlives
// every JITDylib it removes, whatever the order of static destruction.
class Jit {
 public:
  static std::shared_ptr<Jit> instance() {
    // A throwing initializer leaves the static unset, so a later call retries.
    static const std::shared_ptr<Jit> jit = std::make_shared<Jit>();
    return jit;
  }

  Jit() {
    initialize_llvm();
    // detectHost() takes the CPU name and features from the same llvm::sys
    // calls as host_target(), so linked objects and the JIT agree.
    auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!builder) throw std::runtime_error("LLVM ORC: cannot target this host: " + message_of(builder.takeError()));
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*builder)).create();
    if (!jit) throw std::runtime_error("LLVM ORC: cannot create the JIT: " + message_of(jit.takeError()));
    jit_ = std::move(*jit);
    jit_->getExecutionSession().setErrorReporter([](llvm::Error error) {
      if (link_errors != nullptr)
        *link_errors += message_of(std::move(error)) + "; ";
      else
        log(LogLevel::warning, "jit", "LLVM ORC: " + message_of(std::move(error)));
    });
    const char prefix = jit_->getDataLayout().getGlobalPrefix();
    // libomp first, so that omp_* calls of JIT code reach the runtime that
    // implements the __kmpc_* calls clang emits, even when another OpenMP
    // runtime (gcc's libgomp) is already global in the process. Load() opens it
    // RTLD_GLOBAL and never closes it: its worker threads must outlive any code.
    auto libomp = llvm::orc::DynamicLibrarySearchGenerator::Load(ASP_LIBOMP_PATH, prefix);
    if (!libomp) throw std::runtime_error("LLVM ORC: cannot load " ASP_LIBOMP_PATH ": " + message_of(libomp.takeError()));
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
    if (!process) throw std::runtime_error("LLVM ORC: cannot search the process: " + message_of(process.takeError()));
    jit_->getMainJITDylib().addGenerator(std::move(*libomp));
    jit_->getMainJITDylib().addGenerator(std::move(*process));
  }

  llvm::orc::LLJIT& lljit() { return *jit_; }

  std::string next_dylib_name() { return "asp-code-" + std::to_string(counter_++); }

 private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::atomic<unsigned long long> counter_{0};
};

class OrcCode : public LoadedCode {
 public:
  OrcCode(std::shared_ptr<Jit> jit, llvm::orc::JITDylib& dylib) : jit_(std::move(jit)), dylib_(dylib) {}
  OrcCode(const OrcCode&) = delete;
  OrcCode& operator=(const OrcCode&) = delete;

  ~OrcCode() override {
    if (auto error = jit_->lljit().getExecutionSession().removeJITDylib(dylib_))
      log(LogLevel::warning, "jit", "cannot unload " + dylib_.getName() + ": " + message_of(std::move(error)));
  }

  void* symbol(const std::string& name) const override {
    auto& session = jit_->lljit().getExecutionSession();
    // Exported symbols only, like dlsym: a hidden helper is not an entry point.
    auto address = session.lookup({{&dylib_, llvm::orc::JITDylibLookupFlags::MatchExportedSymbolsOnly}},
                                  jit_->lljit().mangleAndIntern(name));
    if (address) return reinterpret_cast<void*>(static_cast<std::uintptr_t>(address->getAddress()));
    std::string failure;
    llvm::handleAllErrors(
        address.takeError(), [](const llvm::orc::SymbolsNotFound&) {},
        [&](const llvm::ErrorInfoBase& error) { failure = error.message(); });
    if (!failure.empty()) throw std::runtime_error("LLVM ORC: looking up " + name + ": " + failure);
    return nullptr;
  }

 private:
  std::shared_ptr<Jit> jit_;
  llvm::orc::JITDylib& dylib_;
};

// Links every symbol the object defines now, so that an unresolved reference
// fails load() with its name rather than a later symbol() call.
llvm::Error link_now(llvm::orc::ExecutionSession& session, llvm::orc::JITDylib& dylib,
                     const llvm::orc::SymbolFlagsMap& symbols) {
  llvm::orc::SymbolLookupSet lookup;
  for (const auto& [name, flags] : symbols)
    lookup.add(name, flags.hasMaterializationSideEffectsOnly() ? llvm::orc::SymbolLookupFlags::WeaklyReferencedSymbol
                                                               : llvm::orc::SymbolLookupFlags::RequiredSymbol);
  return session.lookup(llvm::orc::makeJITDylibSearchOrder(&dylib, llvm::orc::JITDylibLookupFlags::MatchAllSymbols),
                        std::move(lookup))
      .takeError();
}

class OrcDriver : public JitDriver {
 public:
  std::string name() const override { return "orc"; }

  std::string identity() const override {
    const auto& host = host_target();
    std::string id = "clang " CLANG_VERSION_STRING " " + host.triple + " " + host.cpu + " features " +
                     host.features_digest + " flags";
    for (const auto& flag : base_flags()) id += " " + flag;
    // What the driver does beyond clang's flags changes the binary too.
    return id + " | openmp captures loaded once, no machine sinking";
  }

  std::string artifact_kind() const override { return "object"; }

  std::string compile(const CompileRequest& request) const override {
    initialize_llvm();
    const auto& host = host_target();
    const std::string file = jit_detail::source_file_name(request);

    std::string log;  // everything clang says, read through log_stream.str()
    llvm::raw_string_ostream log_stream(log);
    auto diagnostic_options = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
    diagnostic_options->ShowColors = false;
    clang::TextDiagnosticPrinter printer(log_stream, diagnostic_options.get());
    auto diagnostics = clang::CompilerInstance::createDiagnostics(diagnostic_options.get(), &printer, false);

    // The driver, run in process, turns ordinary clang flags into the cc1
    // invocation: optimization pipeline flags for -O3, the system include
    // directories and the resource directory's builtin headers.
    std::vector<std::string> args = {ASP_CLANG_PATH, "-target", host.triple, "-resource-dir", ASP_CLANG_RESOURCE_DIR,
                                     "-fno-color-diagnostics"};
    args.insert(args.end(), base_flags().begin(), base_flags().end());
    if (request.openmp) args.push_back("-fopenmp");
    args.insert(args.end(), request.flags.begin(), request.flags.end());
    args.insert(args.end(), {"-c", "-x", "c", file, "-o", file + ".o"});
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    const std::string test_crash = crash_pragma_for_tests();

    // clang runs under a CrashRecoveryContext, as clang's own driver runs its
    // in-process cc1: an internal error of clang or LLVM (a segfault, a trap, a
    // fatal error) ends this compile, not the process, and comes back as a
    // CompileError with what clang wrote until then. What the crashed compile
    // allocated is leaked. Nothing may throw inside: the frames between here
    // and clang are built without exceptions.
    enum class Outcome { flags_rejected, source_rejected, compiled } outcome = Outcome::source_rejected;
    llvm::SmallString<0> object;
    std::string fatal;
    const void* pretty_stack = llvm::SavePrettyStackState();
    llvm::CrashRecoveryContext recovery;
    fatal_errors = &fatal;
    const bool finished = recovery.RunSafely([&] {
      clang::CreateInvocationOptions options;
      options.Diags = diagnostics;
      std::shared_ptr<clang::CompilerInvocation> invocation = clang::createInvocation(argv, std::move(options));
      if (!invocation) {
        outcome = Outcome::flags_rejected;
        return;
      }
      invocation->getTargetOpts().CPU = host.cpu;
      invocation->getTargetOpts().TuneCPU = host.cpu;
      invocation->getTargetOpts().Features = host.features;
      // The driver asks cc1 to leak its AST and module for speed at exit; this process lives on.
      invocation->getFrontendOpts().DisableFree = false;
      invocation->getCodeGenOpts().DisableFree = false;
      invocation->getPreprocessorOpts().addRemappedFile(
          file, llvm::MemoryBuffer::getMemBufferCopy(test_crash + request.source, file).release());

      // Two steps, so that the IR can be changed before the -O3 pipeline runs:
      // clang's front end writes unoptimized IR, promote_openmp_captures
      // changes it, and clang's back end (EmitBackendOutput, what EmitObjAction
      // runs) optimizes it and writes the object, with the same options.
      invocation->getCodeGenOpts().DisableLLVMPasses = true;
      llvm::LLVMContext context;
      clang::CompilerInstance compiler;
      compiler.setInvocation(std::move(invocation));
      compiler.setDiagnostics(diagnostics.get());
      compiler.setVerboseOutputStream(log_stream);  // "N errors generated." goes to the log, not stderr
      clang::EmitLLVMOnlyAction action(&context);
      if (!compiler.ExecuteAction(action)) return;
      std::unique_ptr<llvm::Module> module = action.takeModule();
      if (!module) return;
      if (request.openmp) promote_openmp_captures(*module);
      clang::CodeGenOptions codegen = compiler.getCodeGenOpts();
      codegen.DisableLLVMPasses = false;
      auto backend_log = std::make_unique<BackendDiagnostics>(log_stream, file);
      const BackendDiagnostics& backend = *backend_log;
      context.setDiagnosticHandler(std::move(backend_log));
      clang::EmitBackendOutput(*diagnostics, compiler.getHeaderSearchOpts(), codegen, compiler.getTargetOpts(),
                               compiler.getLangOpts(), compiler.getTarget().getDataLayoutString(), module.get(),
                               clang::Backend_EmitObj, std::make_unique<llvm::raw_svector_ostream>(object));
      if (!backend.failed && !diagnostics->hasErrorOccurred() && !object.empty()) outcome = Outcome::compiled;
    });
    fatal_errors = nullptr;
    if (!finished) {
      // The crash skipped the destructors of clang's pretty stack trace entries.
      llvm::RestorePrettyStackState(pretty_stack);
      std::string what = describe_crash(recovery.RetCode) + " compiling " + file;
      if (!fatal.empty()) what += " (" + fatal.substr(0, fatal.find('\n')) + ")";
      std::string output = log_stream.str() + fatal + "note: " + what + ": an internal error of clang " +
                           CLANG_VERSION_STRING + ", not an error in the source\n";
      if (!test_crash.empty()) output += "note: ASP_TEST_CRASH_CLANG is set, which asks clang to crash\n";
      throw jit_detail::compile_error(request, what, std::move(output));
    }
    if (outcome == Outcome::flags_rejected)
      throw jit_detail::compile_error(request, "clang rejected the flags for " + file, log_stream.str());
    if (outcome != Outcome::compiled) throw jit_detail::compile_error(request, "clang rejected " + file, log_stream.str());
    return std::string(object.str());
  }

  std::shared_ptr<LoadedCode> load(const std::string& artifact, const std::filesystem::path&) const override {
    auto jit = Jit::instance();
    auto& lljit = jit->lljit();
    auto& session = lljit.getExecutionSession();
    auto dylib = lljit.createJITDylib(jit->next_dylib_name());
    if (!dylib) throw std::runtime_error("LLVM ORC: " + message_of(dylib.takeError()));
    dylib->addToLinkOrder(lljit.getMainJITDylib());
    // From here on the code object owns the JITDylib and removes it on every path.
    auto code = std::make_shared<OrcCode>(jit, *dylib);

    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(artifact, dylib->getName());
    auto interface = llvm::orc::getObjectFileInterface(session, buffer->getMemBufferRef());
    if (!interface) throw std::runtime_error("LLVM ORC: not an object file: " + message_of(interface.takeError()));
    const auto symbols = interface->SymbolFlags;
    if (auto error = lljit.addObjectFile(*dylib, std::move(buffer)))
      throw std::runtime_error("LLVM ORC: cannot add the object: " + message_of(std::move(error)));
    std::string reported;
    link_errors = &reported;
    auto error = link_now(session, *dylib, symbols);
    link_errors = nullptr;
    if (error) throw std::runtime_error("LLVM ORC: cannot link: " + reported + message_of(std::move(error)));
    return code;
  }
};

}  // namespace

std::unique_ptr<JitDriver> make_orc_driver() { return std::make_unique<OrcDriver>(); }

}  // namespace asp::core
