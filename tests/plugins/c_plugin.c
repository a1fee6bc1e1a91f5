/* A plugin in plain C: the ABI needs no C++ on the plugin's side. */
#include <asp/plugin.h>

#include <string.h>

static asp_status probe(void* self, asp_host_context* ctx, const asp_backend_config* config,
                        asp_probe_result* result) {
  (void)self;
  (void)ctx;
  (void)config;
  static const char reason[] = "written in C";
  result->available = 1;
  result->reason->write(result->reason->context, reason, strlen(reason));
  return ASP_OK;
}

/* NULL (or left out): no code generation, no runtime, no device (rule R5). */
static const asp_backend backend = {.struct_size = sizeof(asp_backend), .probe = probe};
static const asp_component components[] = {
    {sizeof(asp_component), ASP_COMPONENT_BACKEND, "cbackend", NULL, &backend}};
static const asp_plugin_info info = {sizeof(asp_plugin_info), "cplugin", "1.0", "plain C", 1, components};

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  *abi_version = ASP_ABI_VERSION;
  return &info;
}
