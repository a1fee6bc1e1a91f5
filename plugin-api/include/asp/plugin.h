/*
 * asp/plugin.h — the stable C ABI between the Asp core and its plugins.
 *
 * This header is the only contract between libasp_core and a plugin library
 * (a domain specializer such as "stencil", or a backend such as "openmp").
 * It is plain C (C99 or later, or any C++), so a plugin may be written in any
 * language that can export a C function. C++ authors should use the
 * header-only helpers in <asp/plugin.hpp>, which implement every rule below.
 *
 * RULES (each is relied on by the core; breaking one is a plugin bug)
 *
 *  R1  C only across the boundary. No C++ types, no exceptions, no STL, no
 *      longjmp out of a call. A C++ plugin must catch everything it throws
 *      before returning (the helpers do).
 *
 *  R2  One exported entry symbol per library, named ASP_PLUGIN_ENTRY_SYMBOL
 *      ("asp_plugin_entry"), of type asp_plugin_entry_fn.
 *
 *  R3  Version negotiation in both directions. An ABI version is
 *      (major << 16) | minor. The host calls the entry with *abi_version set
 *      to the highest version it speaks. The plugin
 *        - refuses (reports an error through host->set_error and returns
 *          NULL) if it cannot work with that host: different major, or a
 *          minor lower than the plugin's minimum;
 *        - otherwise writes back the version it will speak, which must have
 *          the same major and a minor no higher than the host's, and
 *          returns its description.
 *      The host refuses a plugin whose answer has another major or a minor
 *      higher than its own. Same major = compatible; a minor bump only ever
 *      appends fields (R4) or adds enum values.
 *
 *  R4  Every struct that crosses the boundary starts with `size_t
 *      struct_size`, set by whoever fills it to sizeof() as that side was
 *      compiled. Structs only ever grow at the end. A reader checks
 *      ASP_HAS_FIELD(ptr, type, field) before it reads a field that was
 *      appended after version 1.0; a field beyond struct_size is "not
 *      provided".
 *
 *  R5  A NULL function pointer or NULL pointer field means "not provided".
 *      Callers check before calling.
 *
 *  R6  No ownership crosses the boundary without a matching release function
 *      in the same table. Results are written into an asp_text_sink owned by
 *      the caller, so the callee never allocates memory the caller must free.
 *      Strings passed in are valid for the duration of the call only; copy
 *      what you keep.
 *
 *  R7  Errors: every call that can fail returns an asp_status. On a non-OK
 *      status the plugin first calls host->set_error() with the same status,
 *      a message written for the end user (what went wrong and what to do)
 *      and, where there is one, the source location in the user's program.
 *      A plugin that fails to load, speaks the wrong ABI version, or whose
 *      entry returns NULL is reported by the host and skipped; the others
 *      still load.
 *
 *  R8  Everything the plugin describes (asp_plugin_info, its components, their
 *      vtables and strings) stays valid and unchanged for the life of the
 *      process: libraries are never unloaded.
 *
 *  R9  IRs cross as versioned text: a canonical, human-readable form whose
 *      first line is "asp-ir <version> <dialect>" (see <asp/ir_text.hpp>).
 *      Arrays cross as DLPack DLTensor.
 *
 *  R10 Calls into a plugin may come from several threads at once, each with
 *      its own asp_host_context. A plugin that keeps mutable state guards it.
 */
#ifndef ASP_PLUGIN_H
#define ASP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions -------------------------------------------------------- */

#define ASP_MAKE_ABI_VERSION(major, minor) ((((uint32_t)(major)) << 16) | (uint32_t)(minor))
#define ASP_ABI_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define ASP_ABI_VERSION_MINOR_OF(v) ((uint32_t)(v)&0xFFFFu)

#define ASP_ABI_VERSION_MAJOR 1
#define ASP_ABI_VERSION_MINOR 5
/** The version this header describes. */
#define ASP_ABI_VERSION ASP_MAKE_ABI_VERSION(ASP_ABI_VERSION_MAJOR, ASP_ABI_VERSION_MINOR)

/** R4: does the struct at `ptr` (of type `type`) contain `field`? */
#define ASP_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ---- status and errors ----------------------------------------------- */

typedef enum asp_status {
  ASP_OK = 0,
  ASP_ERR_INVALID_ARGUMENT = 1, /* the caller passed something malformed */
  ASP_ERR_UNSUPPORTED = 2,      /* a construct this component cannot handle: fall back */
  ASP_ERR_VERSION = 3,          /* ABI or IR version not spoken */
  ASP_ERR_INIT = 4,             /* the plugin could not initialise */
  ASP_ERR_COMPILE = 5,          /* generated code did not compile */
  ASP_ERR_RUNTIME = 6,          /* failure while running */
  ASP_ERR_OUT_OF_MEMORY = 7,
  ASP_ERR_INTERNAL = 8 /* a bug: an invariant did not hold */
} asp_status;

typedef enum asp_log_level {
  ASP_LOG_DEBUG = 0,
  ASP_LOG_INFO = 1,
  ASP_LOG_WARNING = 2,
  ASP_LOG_ERROR = 3
} asp_log_level;

/** A place in the user's source (a Python file, a config file). */
typedef struct asp_source_location {
  size_t struct_size;
  const char* file; /* NULL when unknown */
  uint32_t line;    /* 1-based; 0 when unknown */
  uint32_t column;  /* 1-based; 0 when unknown */
} asp_source_location;

/* ---- output -------------------------------------------------------- */

/** Caller-owned destination for text a plugin produces (R6). `write` may be
 *  called any number of times; the pieces are concatenated. */
typedef struct asp_text_sink {
  size_t struct_size;
  void* context;
  void (*write)(void* context, const char* data, size_t length);
} asp_text_sink;

/* ---- the host table -------------------------------------------------- */

/** Opaque per-call context the host passes to every callback. */
typedef struct asp_host_context asp_host_context;

/* ---- host services (ABI 1.5) ------------------------------------------ */

/** The machine as the core's platform probe sees it (hwloc, probed once per
 *  process). The caller sets struct_size to sizeof(asp_platform_info) as it
 *  was compiled; the host fills the fields that fit in both and writes back
 *  the struct_size it filled, so ASP_HAS_FIELD tells what was provided.
 *  Cache sizes are bytes, 0 when unknown; "per instance" is one cache,
 *  "total" all instances of that level on the machine together. */
typedef struct asp_platform_info {
  size_t struct_size;
  uint32_t packages;
  uint32_t cores;
  uint32_t threads; /* hardware threads (processing units) */
  uint32_t numa_nodes;
  uint64_t memory; /* bytes */
  uint64_t l1d_size;
  uint64_t l1d_total;
  uint64_t l2_size;
  uint64_t l2_total;
  uint32_t llc_level; /* depth of the last-level data or unified cache (3 for an L3); 0 when unknown */
  uint32_t cache_line; /* bytes, of the L1 data cache */
  uint64_t llc_size;
  uint64_t llc_total;
} asp_platform_info;

/** What a plugin asks the core's JIT driver to compile. */
typedef struct asp_jit_request {
  size_t struct_size;
  const char* source; /* C11 */
  const char* name;   /* short, for logs and the saved source of a failed compile; may be NULL */
  int openmp;         /* non-zero: compile with OpenMP */
  /* Whose configured driver compiles it: backends.<backend>.jit, .compiler
   * and .flags, as for that backend's generated C; NULL = the in-process
   * ORC driver with its defaults. */
  const char* backend;
} asp_jit_request;

/** Compiled, loaded code, owned by the plugin until jit_release(). */
typedef struct asp_jit_module asp_jit_module;

/** Services the core offers to plugins. Valid for the process lifetime.
 *  Later minor versions may append services: a plugin checks
 *  ASP_HAS_FIELD(host, asp_host, field) and that the pointer is not NULL
 *  before it calls one appended after 1.0. A service that fails calls
 *  set_error() on the same context and returns its status, which the
 *  plugin returns (or handles) as its own. */
typedef struct asp_host {
  size_t struct_size;
  /** The highest ABI version this host speaks. */
  uint32_t abi_version;
  /** Version string of the core, e.g. "0.1.0". */
  const char* core_version;
  /** Write a line to the core's log (filtered by ASP_LOG). */
  void (*log)(asp_host_context* ctx, asp_log_level level, const char* message);
  /** Report the error that the returned status stands for (R7). `where` may be NULL. */
  void (*set_error)(asp_host_context* ctx, asp_status status, const char* message,
                    const asp_source_location* where);

  /* ABI 1.5 */
  /** Fills *info (see asp_platform_info). Never fails for a valid info. */
  asp_status (*platform)(asp_host_context* ctx, asp_platform_info* info);
  /** The core's on-disk code cache (DESIGN.md §6: atomic writes, checksums,
   *  owner and permission checks), with keys in a namespace of the caller
   *  the core names the call for (the plugin library, "plugins.<name>" or
   *  "backends.<name>"; a backend's PSIR optimizer, that component), so no
   *  two plugins' keys collide. A key is any non-empty
   *  string (the core hashes it with its namespace). cache_load writes the stored bytes to
   *  `out` and sets *found to 1, or sets *found to 0 on a miss (a corrupt
   *  or foreign entry is a logged miss, to be rebuilt). Without a usable
   *  cache directory every load misses and every store keeps nothing. */
  asp_status (*cache_load)(asp_host_context* ctx, const char* key, const asp_text_sink* out, int* found);
  asp_status (*cache_store)(asp_host_context* ctx, const char* key, const void* bytes, size_t size);
  /** Compiles C11 source with the configured JIT driver (through the code
   *  cache: a source compiled before is loaded, not compiled) and loads
   *  it. A source the compiler rejects is ASP_ERR_COMPILE with the
   *  compiler's messages. On success *module is the plugin's to release. */
  asp_status (*jit_compile)(asp_host_context* ctx, const asp_jit_request* request, asp_jit_module** module);
  /** The address of an exported symbol of the module, or NULL when absent. */
  void* (*jit_symbol)(asp_jit_module* module, const char* name);
  /** Releases a module of jit_compile (NULL is ignored); its code must no longer run. */
  void (*jit_release)(asp_jit_module* module);
} asp_host;

/* ---- arguments ------------------------------------------------------- */

typedef enum asp_arg_kind { ASP_ARG_TENSOR = 1, ASP_ARG_SCALAR = 2 } asp_arg_kind;

/** One argument of a kernel call, or its description at specialization time
 *  (then tensor.data may be NULL: the data never enters a specialization key). */
typedef struct asp_arg {
  size_t struct_size;
  const char* name;
  asp_arg_kind kind;
  DLTensor tensor;        /* ASP_ARG_TENSOR: dtype, ndim, shape, strides (in elements; NULL = compact row-major) */
  DLDataType scalar_type; /* ASP_ARG_SCALAR */
  union {
    int64_t i;
    uint64_t u;
    double f;
  } scalar;
} asp_arg;

/* ---- components -------------------------------------------------------- */

typedef enum asp_component_kind {
  ASP_COMPONENT_FRONTEND = 1,  /* Tree -> DSIR */
  ASP_COMPONENT_OPTIMIZER = 2, /* DSIR -> DSIR or PSIR -> PSIR */
  ASP_COMPONENT_LOWERING = 3,  /* DSIR -> PSIR */
  ASP_COMPONENT_BACKEND = 4,   /* PSIR -> source -> binary -> launch */
  ASP_COMPONENT_KERNEL_SOURCE = 5 /* ABI 1.2: a hand-written variant of a program's kernel */
} asp_component_kind;

/** Frontend: turns the language-neutral Tree (IR text, dialect "tree") and the
 *  argument descriptions into the domain's DSIR text. A construct it cannot
 *  specialize is reported as ASP_ERR_UNSUPPORTED with its source location. */
typedef struct asp_frontend {
  size_t struct_size;
  void* self;
  asp_status (*translate)(void* self, asp_host_context* ctx, const char* tree, const asp_arg* args,
                          size_t arg_count, const asp_text_sink* out);
} asp_frontend;

/** Optimizer: rewrites IR text of the dialect it declares. */
typedef struct asp_optimizer {
  size_t struct_size;
  void* self;
  const char* reads; /* dialect read and written, e.g. "psir" or "dsir.stencil" */
  asp_status (*run)(void* self, asp_host_context* ctx, const char* ir, const asp_text_sink* out);
  /* ABI 1.1: a platform-specific PSIR optimizer names the backend whose
   * PSIR it prepares (the core runs it on every module compiled for that
   * backend, before generate()); NULL for a domain's optimizer. */
  const char* backend;
} asp_optimizer;

/** Lowering: DSIR text of the dialect it declares -> PSIR text. */
typedef struct asp_lowering {
  size_t struct_size;
  void* self;
  const char* reads; /* DSIR dialect, e.g. "dsir.stencil" */
  asp_status (*lower)(void* self, asp_host_context* ctx, const char* dsir, const asp_text_sink* out);
} asp_lowering;

/** Settings the site administrator gave a backend in the configuration. */
typedef struct asp_backend_config {
  size_t struct_size;
  const char* jit;             /* "orc", "system", or NULL when unset */
  const char* compiler;        /* NULL when unset */
  const char* const* flags;    /* NULL when unset */
  size_t flag_count;
} asp_backend_config;

/** What a backend's probe found. `reason` says why it is unavailable, or
 *  describes what it found (device name, compiler) when available. */
typedef struct asp_probe_result {
  size_t struct_size;
  int available; /* non-zero when the backend can run on this machine */
  const asp_text_sink* reason;
} asp_probe_result;

/* The C entry convention (languages "c" and "c+openmp" below). Generated C
 * exports, for each PSIR function f of the module,
 *     int asp_entry_f(void* const* args);
 * args[i] is, for buffer parameter i, its data pointer and, for scalar
 * parameter i, a pointer to its value. It returns ASP_C_OK, ASP_C_ZERO_DIVISION,
 * ASP_C_OUT_OF_BOUNDS + i when a data-dependent index fell outside buffer
 * parameter i (the access was suppressed: an error, never a crash), or
 * (ABI 1.3) an ASP_C_PYTHON_ERROR status, below, when an operation failed
 * where Python raises (the call computes on, with C's nan or inf). A module
 * that needs the backend's runtime exports
 *     void asp_runtime_init(const void* runtime);
 * which the core calls once, right after loading, with asp_backend.runtime(). */
#define ASP_C_ENTRY_PREFIX "asp_entry_"
#define ASP_C_RUNTIME_INIT_SYMBOL "asp_runtime_init"
enum { ASP_C_OK = 0, ASP_C_ZERO_DIVISION = 1, ASP_C_OUT_OF_BOUNDS = 2 };

/* ABI 1.3: the errors Python raises where C computes nan or infinity. A
 * PSIR operation marked with the line of the user's source it came from
 * (a math.sqrt, math.log, math.exp, ... call, an int() or math.floor of a
 * float) returns, when Python would raise there,
 *     ASP_C_PYTHON_ERROR_STATUS(error, operation, line)
 * with error one of asp_c_python_error (which exception, which message),
 * operation one of asp_c_python_operation (what the message names) and
 * line the 1-based source line (0 when unknown or above
 * ASP_C_PYTHON_ERROR_MAX_LINE). Such a status has bit 30 set, which no
 * ASP_C_OUT_OF_BOUNDS + i reaches; a host of ABI 1.2 reports it as an
 * unknown status. New errors and operations are only ever appended. */
enum { ASP_C_PYTHON_ERROR = 0x40000000 };
typedef enum asp_c_python_error {
  ASP_C_MATH_DOMAIN = 1,   /* ValueError: math domain error */
  ASP_C_MATH_RANGE = 2,    /* OverflowError: math range error */
  ASP_C_INT_OF_NAN = 3,    /* ValueError: cannot convert float NaN to integer */
  ASP_C_INT_OF_INF = 4     /* OverflowError: cannot convert float infinity to integer */
} asp_c_python_error;
typedef enum asp_c_python_operation {
  ASP_C_OP_SQRT = 1,  /* math.sqrt */
  ASP_C_OP_EXP = 2,   /* math.exp */
  ASP_C_OP_LOG = 3,   /* math.log */
  ASP_C_OP_SIN = 4,   /* math.sin */
  ASP_C_OP_COS = 5,   /* math.cos */
  ASP_C_OP_TAN = 6,   /* math.tan */
  ASP_C_OP_INT = 7,   /* int() */
  ASP_C_OP_FLOOR = 8, /* math.floor */
  ASP_C_OP_CEIL = 9   /* math.ceil */
} asp_c_python_operation;
#define ASP_C_PYTHON_ERROR_MAX_LINE 0xFFFFF
#define ASP_C_PYTHON_ERROR_STATUS(error, operation, line)                                            \
  ((int)(ASP_C_PYTHON_ERROR | ((uint32_t)(error) << 24) | ((uint32_t)(operation) << 20) |           \
         ((uint32_t)(line) <= ASP_C_PYTHON_ERROR_MAX_LINE ? (uint32_t)(line) : 0u)))
#define ASP_C_IS_PYTHON_ERROR(status) (((status) & ASP_C_PYTHON_ERROR) != 0 && (status) > 0)
#define ASP_C_PYTHON_ERROR_OF(status) ((asp_c_python_error)(((uint32_t)(status) >> 24) & 0x3Fu))
#define ASP_C_PYTHON_OPERATION_OF(status) ((asp_c_python_operation)(((uint32_t)(status) >> 20) & 0xFu))
#define ASP_C_PYTHON_LINE_OF(status) ((uint32_t)(status) & ASP_C_PYTHON_ERROR_MAX_LINE)

/* ---- devices (ABI 1.1) ------------------------------------------------ */

/* A device backend (language "opencl-c" or "cuda-c") compiles, loads and
 * launches its code itself, and keeps the arrays of a call in device memory.
 * The core caches the binaries compile() produces, decides what is copied
 * when (residency), and computes each launch's grid from the PSIR.
 *
 * The device entry convention. For each PSIR function f, generated device
 * source defines a kernel named asp_entry_f whose parameters are f's
 * parameters in order — a buffer as a pointer to its element type in device
 * memory, a scalar by value (bool as an unsigned 8-bit integer) — followed by
 * a pointer to one int in device memory: the status word, which the backend
 * zeroes before a launch and reads after it (ASP_C_* codes, as for C). A
 * loop of kind gpu_block in dimension d runs one iteration per block of the
 * grid's dimension d, a gpu_thread loop one per thread of the block's
 * dimension d; the core sets grid[d] and block[d] to their trip counts. A
 * function without such loops runs as a single thread.
 *
 * ABI 1.4: a function whose body, after its leading lets, holds a top-level
 * gpu_block loop and other statements runs as several launches, in order,
 * each after the one before has finished: one per top-level gpu_block loop
 * and one single-thread launch per run of statements between them, split as
 * asp::psir::device_launches (<asp/psir_verify.hpp>) splits it. Launch i is
 * the kernel asp_entry_<f>_launch<i>, with f's parameters and the status
 * word; the first launch that leaves a status other than ASP_C_OK ends the
 * call. Generated code of ABI 1.3 has no such functions: its optimizers map
 * one nest per function, so its kernels are launched as before. */

/** Opaque handles, owned by the backend and given back through release()/unload(). */
typedef struct asp_device_buffer asp_device_buffer;
typedef struct asp_device_module asp_device_module;

/** One argument of a launch, in the order of the PSIR function's parameters. */
typedef struct asp_device_arg {
  size_t struct_size;
  asp_device_buffer* buffer; /* a buffer parameter; NULL for a scalar */
  const void* scalar;        /* a scalar parameter: its value, */
  size_t scalar_size;        /* of this many bytes (the PSIR type's size; bool is 1) */
} asp_device_arg;

/** The launch grid: blocks (work-groups) per dimension, threads (work-items) per block. */
typedef struct asp_launch_config {
  size_t struct_size;
  uint64_t grid[3];
  uint64_t block[3];
} asp_launch_config;

/** Backend. The fields after `runtime` are ABI 1.1 and used only for a
 *  device language. */
typedef struct asp_backend {
  size_t struct_size;
  void* self;
  /** Cheap check that the backend can run here; must not fail for an
   *  unavailable backend (that is result->available == 0, status OK). */
  asp_status (*probe)(void* self, asp_host_context* ctx, const asp_backend_config* config,
                      asp_probe_result* result);
  /** What generate() emits, which says who compiles it: "c" or "c+openmp" is
   *  C11 of the C entry convention, compiled by the core's JIT driver chosen
   *  for this backend in the configuration (with OpenMP for "c+openmp");
   *  "opencl-c" (OpenCL C 1.2) and "cuda-c" (CUDA C++) follow the device
   *  entry convention and are built by the backend's compile(). */
  const char* language;
  /** PSIR module text (a kernel and its variants) -> source text in `language`. */
  asp_status (*generate)(void* self, asp_host_context* ctx, const char* psir, const asp_text_sink* out);
  /** The runtime handed to asp_runtime_init of each loaded module, or NULL. */
  const void* (*runtime)(void* self);

  /** DLPack device type (DLDeviceType) of the backend's memory: an array
   *  argument of this type is used in place through wrap(). */
  int32_t device_type;
  /** What the binaries depend on besides the source (device, driver and
   *  compiler versions, target architecture): part of the code-cache key. */
  asp_status (*target)(void* self, asp_host_context* ctx, const asp_text_sink* out);
  /** Source -> binary (an OpenCL program binary, PTX), written as bytes to
   *  `out`. A source the device compiler rejects is ASP_ERR_COMPILE with the
   *  compiler's log in the message. */
  asp_status (*compile)(void* self, asp_host_context* ctx, const char* source, const asp_text_sink* out);
  /** Binary -> a loaded module, valid until unload(). */
  asp_status (*load)(void* self, asp_host_context* ctx, const void* binary, size_t size,
                     asp_device_module** module);
  void (*unload)(void* self, asp_device_module* module);
  /** Device memory of `bytes` bytes (at least one byte is allocated), freed by release(). */
  asp_status (*allocate)(void* self, asp_host_context* ctx, size_t bytes, asp_device_buffer** buffer);
  /** A handle to device memory the caller owns (a DLPack tensor of
   *  device_type): used in place; release() frees the handle only. */
  asp_status (*wrap)(void* self, asp_host_context* ctx, void* device_pointer, size_t bytes,
                     asp_device_buffer** buffer);
  void (*release)(void* self, asp_device_buffer* buffer);
  /** Blocking copies between host memory and a buffer. */
  asp_status (*copy_in)(void* self, asp_host_context* ctx, asp_device_buffer* to, const void* from, size_t bytes);
  asp_status (*copy_out)(void* self, asp_host_context* ctx, void* to, asp_device_buffer* from, size_t bytes);
  /** Runs kernel asp_entry_<function> of `module` and returns when it has
   *  finished, with the status word it left in *kernel_status. */
  asp_status (*launch)(void* self, asp_host_context* ctx, asp_device_module* module, const char* function,
                       const asp_device_arg* args, size_t arg_count, const asp_launch_config* config,
                       int* kernel_status);
} asp_backend;

/* ---- hand-written kernels (ABI 1.2) ----------------------------------- */

/* A kernel source fills a kernel of the programs its domain's lowering
 * writes (a `kernel NAME(params) writes(...)` declaration of PSIR version 2)
 * with a hand-written variant in one backend language. The core compiles,
 * caches and tunes it exactly like generated code: for each combination of
 * the template parameters' values it compiles one instantiation, named
 * <variant>, then _<NAME><value> per template parameter (negative values
 * written with 'm' for the minus), with these lines put before `source`:
 *     #define ASP_VARIANT asp_entry_<instantiation>
 *     #define <NAME> <value>            (each template parameter)
 * The source defines the function or kernel ASP_VARIANT by the entry
 * convention of its language, over the kernel's parameters in order: for
 * "c" and "c+openmp" the C entry convention (int ASP_VARIANT(void* const*
 * args), returning an ASP_C_* status), for "opencl-c" and "cuda-c" the
 * device entry convention (parameters, then the status word), launched on
 * the grid that `grid` and `block` give. Language "c" runs on every backend
 * that emits "c" or "c+openmp"; the others only on a backend that emits
 * that language. */
typedef struct asp_template_param {
  size_t struct_size;
  const char* name;      /* a C identifier */
  const int64_t* values; /* the values to instantiate and time */
  size_t value_count;
} asp_template_param;

typedef struct asp_kernel_source {
  size_t struct_size;
  const char* kernel;   /* the program kernel it fills */
  const char* variant;  /* an identifier, unique among the kernel's variants */
  const char* language; /* "c", "c+openmp", "opencl-c" or "cuda-c" */
  const char* source;
  /* The run check: PSIR expression text of type bool over the kernel's
   * scalar parameters and the template parameters (i64), e.g.
   * "((n % BLOCK) == 0:i64)"; NULL when every instantiation always runs. */
  const char* requires_;
  const asp_template_param* template_params;
  size_t template_param_count;
  /* Device languages: the launch grid, "x, y, z" (fewer dimensions are 1) as
   * PSIR i64 expressions over the same names: blocks (work-groups) per
   * dimension and threads (work-items) per block. NULL is a single thread. */
  const char* grid;
  const char* block;
} asp_kernel_source;

typedef struct asp_component {
  size_t struct_size;
  asp_component_kind kind;
  /** Unique in the process: the name the configuration and users refer to. */
  const char* name;
  /** Domain the component serves ("stencil"), or NULL for backends. */
  const char* domain;
  /** Points to asp_frontend, asp_optimizer, asp_lowering, asp_backend or asp_kernel_source per kind. */
  const void* vtable;
} asp_component;

/** What a plugin library provides; returned by its entry point. */
typedef struct asp_plugin_info {
  size_t struct_size;
  const char* name;        /* the plugin's name, e.g. "stencil" */
  const char* version;     /* the plugin's own version, e.g. "1.2.0" */
  const char* description; /* one line, may be NULL */
  size_t component_count;
  const asp_component* components;
} asp_plugin_info;

/* ---- the entry point ------------------------------------------------- */

#define ASP_PLUGIN_ENTRY_SYMBOL "asp_plugin_entry"

/** R2/R3. `abi_version`: in, the host's highest version; out, the version
 *  the plugin speaks. Returns NULL after host->set_error() when it refuses
 *  or fails to initialise. Called once per process. */
typedef const asp_plugin_info* (*asp_plugin_entry_fn)(const asp_host* host, asp_host_context* ctx,
                                                      uint32_t* abi_version);

#if defined(_WIN32)
#define ASP_PLUGIN_EXPORT __declspec(dllexport)
#else
#define ASP_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif

#endif /* ASP_PLUGIN_H */
