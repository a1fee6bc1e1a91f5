// What this machine is, as hwloc sees it: the facts specializers and the
// tuner choose by (cores, caches, NUMA) and the devices backends could use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace asp::core {

struct CacheLevel {
  unsigned depth = 0;         // 1 for L1, ...
  std::string kind;           // "data", "instruction" or "unified"
  std::uint64_t size = 0;     // bytes per instance
  unsigned line_size = 0;     // bytes
  unsigned instances = 0;     // how many of them on the machine
  std::uint64_t total = 0;    // bytes, all instances together (they may differ in size)
  std::string name() const;   // "L1d", "L2", ...
};

struct Device {
  std::string kind;  // "OpenCL", "CUDA", "GPU", ...
  std::string name;
};

struct Platform {
  std::string hwloc_version;
  std::string cpu_model;
  std::string architecture;
  unsigned packages = 0;
  unsigned cores = 0;
  unsigned pus = 0;  // hardware threads
  unsigned numa_nodes = 0;
  std::uint64_t memory = 0;  // bytes
  std::vector<CacheLevel> caches;
  std::string error;  // set when hwloc could not build the topology

  // The size in bytes of the last-level cache (0 when unknown).
  std::uint64_t last_level_cache() const;
};

// The CPU topology. Probed once per process, without I/O discovery, which is
// slow (it initialises OpenCL platforms): the dispatch path uses this.
const Platform& platform();

// What tells this machine apart, cheaply and without hwloc (whose start
// alone, loading its plugins, takes milliseconds): the architecture, the CPUs
// online and those this process may use, and the caches of the first CPU
// (level, kind, size and which CPUs share each), e.g. "x86_64 online 0-1
// allowed 0-1 L1 Data 32K 0 | L2 Unified 1024K 0 | ...". Read once per process.
// The tuning database and the specialization cache key by it: a warm start
// must not pay for the topology probe it would only use to find its records.
const std::string& machine_identity();

// The GPUs and coprocessors hwloc sees (OpenCL and CUDA devices among them).
// Probed once per process on first use; for reports such as `asp info`.
const std::vector<Device>& devices();

}  // namespace asp::core
