// The system driver: the configured compiler, run with an argument vector
// (never a shell), builds a shared library; Boost.DLL loads it.
#include "asp/core/jit.hpp"
#include "asp/core/log.hpp"
#include "jit_common.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>

extern char** environ;

namespace asp::core {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

// A directory only we may enter (mkdtemp creates it 0700), removed with its
// contents when done: sources and libraries in it are never seen by others.
class PrivateDir {
 public:
  PrivateDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "asp-jit-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw_errno(errno, "cannot create a temporary directory " + pattern);
    path_ = pattern;
  }
  ~PrivateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) log(LogLevel::warning, "jit", "cannot remove " + path_.string() + ": " + ec.message());
  }
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Creates `path` (which must not exist) readable by us alone and writes `bytes`.
void write_private(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno(errno, "cannot create " + path.string());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      throw_errno(error, "cannot write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (close(fd) != 0) throw_errno(errno, "cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + path.string());
  return bytes;
}

// The program `name` names: a path when it has a slash, else the first
// executable file of that name on PATH, as execvp would choose.
std::filesystem::path find_program(const std::string& name) {
  const auto executable = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) throw CompileError("no compiler program is configured for the system JIT driver", "", {});
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return std::filesystem::absolute(name);
    throw CompileError("compiler program '" + name + "' not found or not executable", "", {});
  }
  const char* env = std::getenv("PATH");
  std::string dirs = env != nullptr ? env : "/usr/local/bin:/bin:/usr/bin";
  std::istringstream entries(dirs);
  for (std::string dir; std::getline(entries, dir, ':');) {
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (executable(candidate)) return std::filesystem::absolute(candidate);
  }
  throw CompileError("compiler program '" + name + "' not found on PATH (" + dirs + ")", "", {});
}

struct Finished {
  int status = 0;      // as waitpid reports it
  std::string output;  // stdout and stderr, interleaved as written
};

bool succeeded(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "ended with wait status " + std::to_string(status);
}

void check_spawn(int rc, const char* what) {
  if (rc != 0) throw_errno(rc, what);
}

// Runs `program` with `args` (args[0] included), stdin from /dev/null, and
// collects its output. No shell: arguments reach the program verbatim.
Finished run(const std::filesystem::path& program, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  check_spawn(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init");
  int pipe_fds[2];
  // Close-on-exec, so that programs spawned by other threads do not inherit
  // the write end and keep our read from seeing end of file.
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    const int error = errno;
    posix_spawn_file_actions_destroy(&actions);
    throw_errno(error, "cannot create a pipe");
  }
  pid_t pid = -1;
  int rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  if (rc == 0) rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    throw_errno(rc, "cannot run " + program.string());
  }
  Finished finished;
  int read_error = 0;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error = errno;
      break;
    }
    finished.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  while (waitpid(pid, &finished.status, 0) < 0)
    if (errno != EINTR) throw_errno(errno, "cannot wait for " + program.string());
  if (read_error != 0) throw_errno(read_error, "cannot read the output of " + program.string());
  return finished;
}

// Whether `flags` has `name` or `name=value`.
bool has_flag(const std::vector<std::string>& flags, std::string_view name) {
  for (const auto& flag : flags)
    if (flag == name || (flag.starts_with(name) && flag[name.size()] == '=')) return true;
  return false;
}

// gcc's OpenMP runtime keeps its worker threads between parallel regions and,
// unlike libomp, is not marked NODELETE: unloading it with the last kernel that
// needed it would unmap the code those threads wait in. Once a kernel brought
// it in, it stays; the handle is deliberately never closed. A null result only
// means the runtime is not in the process, so there is nothing to pin.
void pin_openmp_runtimes() {
  for (const char* runtime : {"libgomp.so.1"}) static_cast<void>(dlopen(runtime, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE));
}

class SystemCode : public LoadedCode {
 public:
  explicit SystemCode(boost::dll::shared_library library) : library_(std::move(library)) { pin_openmp_runtimes(); }
  void* symbol(const std::string& name) const override { return dlsym(library_.native(), name.c_str()); }

 private:
  boost::dll::shared_library library_;
};

class SystemDriver : public JitDriver {
 public:
  SystemDriver(std::string compiler, std::vector<std::string> flags)
      : compiler_(std::move(compiler)), flags_(std::move(flags)) {}

  std::string name() const override { return "system"; }

  std::string identity() const override {
    std::lock_guard lock(mutex_);
    if (!identity_) {
      const auto program = find_program(compiler_);
      const auto version = run(program, {compiler_, "--version"});
      if (!succeeded(version.status))
        throw CompileError("'" + compiler_ + " --version' " + describe(version.status), version.output, {});
      const auto& host = jit_detail::host_target();
      std::string id = program.string() + " | " + version.output.substr(0, version.output.find('\n')) + " | flags";
      for (const auto& flag : command_flags(CompileRequest{})) id += " " + flag;
      // The configured flags may say -march=native: the CPU decides the binary.
      identity_ = id + " | " + host.triple + " " + host.cpu + " features " + host.features_digest;
    }
    return *identity_;
  }

  std::string artifact_kind() const override { return "shared-library"; }

  std::string compile(const CompileRequest& request) const override {
    const auto program = find_program(compiler_);
    PrivateDir dir;
    const auto source = dir.path() / jit_detail::source_file_name(request);
    const auto library = dir.path() / "code.so";
    write_private(source, request.source);
    std::vector<std::string> args = {compiler_};
    for (auto& flag : command_flags(request)) args.push_back(std::move(flag));
    args.insert(args.end(), {"-o", library.string(), source.string()});
    const auto finished = run(program, args);
    if (!succeeded(finished.status))
      throw jit_detail::compile_error(request, compiler_ + " " + describe(finished.status), finished.output);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(library, ec))
      throw jit_detail::compile_error(request, compiler_ + " wrote no shared library (are -shared -fPIC configured?)",
                                      finished.output);
    return read_file(library);
  }

  std::shared_ptr<LoadedCode> load(const std::string& artifact, const std::filesystem::path& file) const override {
    // Local: two kernels may export the same names. Now: a missing symbol fails here, not mid-call.
    const auto mode = boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local;
    if (!file.empty()) return std::make_shared<SystemCode>(boost::dll::shared_library(file, mode));
    // dlopen needs a file; once mapped, the file is no longer needed.
    PrivateDir dir;
    const auto copy = dir.path() / "code.so";
    write_private(copy, artifact);
    return std::make_shared<SystemCode>(boost::dll::shared_library(copy, mode));
  }

 private:
  // The configured flags, the request's, then what bitwise equality with
  // Python needs unless the flags say otherwise: gcc contracts a*b+c into an
  // FMA by default in its GNU C modes, and turns pow(x, 2) into x * x.
  std::vector<std::string> command_flags(const CompileRequest& request) const {
    auto flags = flags_;
    flags.insert(flags.end(), request.flags.begin(), request.flags.end());
    if (request.openmp && !has_flag(flags, "-fopenmp")) flags.push_back("-fopenmp");
    if (!has_flag(flags, "-ffp-contract")) flags.push_back("-ffp-contract=off");
    // Python's ** calls libm's pow: keep the compiler from replacing pow(x, 2) by x * x (see jit_orc.cpp).
    for (const char* f : {"-fno-builtin-pow", "-fno-builtin-powf"}) {
      if (!has_flag(flags, f)) flags.push_back(f);
    }
    return flags;
  }

  std::string compiler_;
  std::vector<std::string> flags_;
  mutable std::mutex mutex_;
  mutable std::optional<std::string> identity_;
};

}  // namespace

std::unique_ptr<JitDriver> make_system_driver(std::string compiler, std::vector<std::string> flags) {
  return std::make_unique<SystemDriver>(std::move(compiler), std::move(flags));
}

}  // namespace asp::core
