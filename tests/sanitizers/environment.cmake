# The sanitizers' run-time options for the tests of a sanitizer build
# (ASP_SANITIZE, `scripts/test --sanitize`), as ENVIRONMENT_MODIFICATION
# entries. tests/CMakeLists.txt gives them to the tests it defines itself;
# apply.cmake gives them to the tests gtest_discover_tests lists.
set(asp_sanitizer_dir ${CMAKE_CURRENT_LIST_DIR})
set(ASP_SANITIZER_ENVIRONMENT
  # intercept_tls_get_addr=0: LLVM's ORC JIT (the in-process JIT driver) sets
  # up thread-local storage for the code it links, which ASan's __tls_get_addr
  # interceptor does not know about: it reports a false error or crashes.
  "ASAN_OPTIONS=set:intercept_tls_get_addr=0:detect_leaks=1"
  "LSAN_OPTIONS=set:suppressions=${asp_sanitizer_dir}/lsan.supp:print_suppressions=0"
  "UBSAN_OPTIONS=set:suppressions=${asp_sanitizer_dir}/ubsan.supp:print_stacktrace=1:halt_on_error=1")
# Without leak checking, two kinds of test (ASan and UBSan still check them):
# - OrcCrashTest (tests/core/test_jit.cpp): each test makes clang crash on
#   purpose, and LLVM's CrashRecoveryContext then unwinds past clang's stack
#   without running its destructors (what LLVM documents for a recovered
#   crash), so what the compiler had allocated is leaked by design. Those tests
#   check that the process survives and the next compile works; every compile
#   that does not crash is leak-checked elsewhere.
# - mpi_collectives (tests/core/test_mpi.cpp, under mpirun): Open MPI's
#   MPI_Init/MPI_Finalize leak (about 120 KB in 3 000 allocations, most from
#   its MCA components, which it closes before exit, so LSan cannot name them
#   in a suppression).
set(ASP_SANITIZER_ENVIRONMENT_NO_LEAK_CHECK
  "ASAN_OPTIONS=set:intercept_tls_get_addr=0:detect_leaks=0"
  "UBSAN_OPTIONS=set:suppressions=${asp_sanitizer_dir}/ubsan.supp:print_stacktrace=1:halt_on_error=1")
# For the installed `asp` command (the out-of-tree test): hwloc's PCI plugin,
# which hwloc dlopens and closes again, leaks what it allocates while probing
# (LSan: "<unknown module>", so no suppression can name it). That test checks
# no device hwloc finds on a PCI bus (`asp info` then lists no GPUs from
# hwloc), so it runs without that plugin; everywhere else hwloc is as usual.
set(ASP_SANITIZER_HWLOC "HWLOC_PLUGINS_BLACKLIST=set:hwloc_pci")
