#include "asp/core/platform.hpp"

#include <hwloc.h>

#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

namespace asp::core {

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

unsigned count(hwloc_topology_t topology, hwloc_obj_type_t type) {
  const int n = hwloc_get_nbobjs_by_type(topology, type);
  return n > 0 ? static_cast<unsigned>(n) : 0;
}

const char* cache_kind(hwloc_obj_cache_type_e type) {
  switch (type) {
    case HWLOC_OBJ_CACHE_DATA: return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
    default: return "unified";
  }
}

void read_caches(hwloc_topology_t topology, Platform& platform) {
  for (hwloc_obj_type_t type : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
                                HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE}) {
    const unsigned n = count(topology, type);
    if (n == 0) continue;
    hwloc_obj_t first = hwloc_get_obj_by_type(topology, type, 0);
    CacheLevel level;
    level.depth = first->attr->cache.depth;
    level.kind = cache_kind(first->attr->cache.type);
    level.size = first->attr->cache.size;
    level.line_size = first->attr->cache.linesize;
    level.instances = n;
    for (hwloc_obj_t c = first; c; c = hwloc_get_next_obj_by_type(topology, type, c)) level.total += c->attr->cache.size;
    platform.caches.push_back(level);
  }
}

void read_devices(hwloc_topology_t topology, std::vector<Device>& devices) {
  for (hwloc_obj_t obj = hwloc_get_next_osdev(topology, nullptr); obj; obj = hwloc_get_next_osdev(topology, obj)) {
    const auto type = obj->attr->osdev.type;
    if (type != HWLOC_OBJ_OSDEV_COPROC && type != HWLOC_OBJ_OSDEV_GPU) continue;
    Device device;
    device.kind = obj->subtype ? obj->subtype : (type == HWLOC_OBJ_OSDEV_GPU ? "GPU" : "coprocessor");
    const char* model = hwloc_obj_get_info_by_name(obj, "GPUModel");
    device.name = model ? model : (obj->name ? obj->name : "unnamed");
    devices.push_back(device);
  }
}

// Builds a topology; with `io`, keeps the I/O devices that matter (GPUs,
// coprocessors) so OpenCL and CUDA devices show. Returns null and sets `error` on failure.
Topology load_topology(bool io, std::string& error) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    error = "hwloc_topology_init failed";
    return nullptr;
  }
  Topology topology(raw);
  if (io) hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(raw) != 0) {
    error = "hwloc_topology_load failed";
    return nullptr;
  }
  return topology;
}

Platform probe() {
  Platform platform;
  platform.hwloc_version = HWLOC_VERSION;
  utsname uts{};
  if (uname(&uts) == 0) platform.architecture = uts.machine;
  Topology topology = load_topology(false, platform.error);
  if (!topology) return platform;
  hwloc_topology_t raw = topology.get();
  platform.packages = count(raw, HWLOC_OBJ_PACKAGE);
  platform.cores = count(raw, HWLOC_OBJ_CORE);
  platform.pus = count(raw, HWLOC_OBJ_PU);
  platform.numa_nodes = count(raw, HWLOC_OBJ_NUMANODE);
  hwloc_obj_t root = hwloc_get_root_obj(raw);
  platform.memory = root->total_memory;
  hwloc_obj_t package = hwloc_get_obj_by_type(raw, HWLOC_OBJ_PACKAGE, 0);
  const char* model = hwloc_obj_get_info_by_name(package ? package : root, "CPUModel");
  if (model) platform.cpu_model = model;
  read_caches(raw, platform);
  return platform;
}

// The first line of a small text file (sysfs), or "?" when it cannot be read.
std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return "?";
  return line;
}

// The CPUs this process may run on, as ranges ("0-3,8").
std::string allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "?";
  std::string text;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    text += (text.empty() ? "" : ",") + std::to_string(cpu) + (last > cpu ? "-" + std::to_string(last) : "");
    cpu = last;
  }
  return text;
}

std::string probe_identity() {
  utsname uts{};
  std::string id = uname(&uts) == 0 ? uts.machine : "?";
  const std::filesystem::path cpus = "/sys/devices/system/cpu";
  id += " online " + first_line(cpus / "online") + " allowed " + allowed_cpus();
  std::error_code error;
  for (int index = 0;; ++index) {
    const std::filesystem::path cache = cpus / "cpu0" / "cache" / ("index" + std::to_string(index));
    if (!std::filesystem::exists(cache, error)) break;
    id += (index ? " | L" : " L") + first_line(cache / "level") + " " + first_line(cache / "type") + " " +
          first_line(cache / "size") + " " + first_line(cache / "shared_cpu_list");
  }
  return id;
}

}  // namespace

const std::string& machine_identity() {
  static const std::string identity = probe_identity();
  return identity;
}

std::string CacheLevel::name() const {
  std::string text = "L" + std::to_string(depth);
  if (kind == "data") text += "d";
  if (kind == "instruction") text += "i";
  return text;
}

std::uint64_t Platform::last_level_cache() const {
  std::uint64_t size = 0;
  unsigned deepest = 0;
  for (const CacheLevel& level : caches) {
    if (level.kind != "instruction" && level.depth >= deepest) {
      deepest = level.depth;
      size = level.size;
    }
  }
  return size;
}

const Platform& platform() {
  static const Platform probed = probe();
  return probed;
}

const std::vector<Device>& devices() {
  static const std::vector<Device> found = [] {
    std::vector<Device> list;
    std::string error;
    if (Topology topology = load_topology(true, error)) read_devices(topology.get(), list);
    return list;
  }();
  return found;
}

}  // namespace asp::core
