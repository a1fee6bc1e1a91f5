// Runs test code in several real processes at once, for what must hold across processes.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <vector>

namespace asp::test {

// Forks `count` processes that each run `body(index)` once all exist (so they
// overlap as much as possible) and waits for them. Returns how many failed: threw,
// returned false, or died. Call it from a single-threaded test only.
inline int run_processes(int count, const std::function<bool(int)>& body) {
  int start[2];
  if (::pipe(start) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(start[1]);
      char byte;
      // Blocks until the parent closes its end: the starting gun.
      while (::read(start[0], &byte, 1) < 0 && errno == EINTR) {
      }
      bool ok = false;
      try {
        ok = body(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "process %d: %s\n", i, e.what());
      }
      // _exit: the child must not run the parent's atexit handlers or flush its buffers twice.
      ::_exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

}  // namespace asp::test
