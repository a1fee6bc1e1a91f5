/* A plugin as built against ABI 1.1: it answers version 1.1 with a 1.1
 * backend table (device fields NULL: a host backend without code generation).
 * With ABI_1_1_KERNEL_SOURCE defined it also lists a kernel source, a
 * component kind of ABI 1.2, which the core must refuse from a 1.1 plugin. */
#include <asp/plugin.h>

#include <string.h>

static asp_status probe(void* self, asp_host_context* ctx, const asp_backend_config* config, asp_probe_result* result) {
  (void)self;
  (void)ctx;
  (void)config;
  static const char reason[] = "an ABI 1.1 backend";
  result->available = 1;
  result->reason->write(result->reason->context, reason, strlen(reason));
  return ASP_OK;
}

static const asp_backend backend = {.struct_size = sizeof(asp_backend), .probe = probe};
#ifdef ABI_1_1_KERNEL_SOURCE
static const asp_kernel_source source = {sizeof(asp_kernel_source), "k", "v", "c", "int x;", NULL, NULL, 0, NULL, NULL};
#define NAME "abi11ks"
#else
#define NAME "abi11"
#endif
static const asp_component components[] = {
    {sizeof(asp_component), ASP_COMPONENT_BACKEND, NAME, NULL, &backend},
#ifdef ABI_1_1_KERNEL_SOURCE
    {sizeof(asp_component), ASP_COMPONENT_KERNEL_SOURCE, NAME ".k", "old", &source},
#endif
};
static const asp_plugin_info info = {sizeof(asp_plugin_info), NAME, "1.1", "speaks ABI 1.1",
                                     sizeof components / sizeof components[0], components};

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  *abi_version = ASP_MAKE_ABI_VERSION(1, 1);
  return &info;
}
