/* A plugin as built against ABI 1.0: it answers version 1.0 and its tables
 * end where 1.0's did (no asp_optimizer.backend, no device fields of
 * asp_backend). The core must load it unchanged next to 1.2 plugins. */
#include <asp/plugin.h>

#include <string.h>

static asp_status probe(void* self, asp_host_context* ctx, const asp_backend_config* config, asp_probe_result* result) {
  (void)self;
  (void)ctx;
  (void)config;
  static const char reason[] = "an ABI 1.0 backend";
  result->available = 1;
  result->reason->write(result->reason->context, reason, strlen(reason));
  return ASP_OK;
}

static asp_status run(void* self, asp_host_context* ctx, const char* ir, const asp_text_sink* out) {
  (void)self;
  (void)ctx;
  out->write(out->context, ir, strlen(ir));
  return ASP_OK;
}

static const asp_backend backend = {.struct_size = offsetof(asp_backend, device_type), .probe = probe};
static const asp_optimizer optimizer = {.struct_size = offsetof(asp_optimizer, backend), .reads = "dsir.old", .run = run};
static const asp_component components[] = {
    {sizeof(asp_component), ASP_COMPONENT_BACKEND, "abi10", NULL, &backend},
    {sizeof(asp_component), ASP_COMPONENT_OPTIMIZER, "abi10.identity", "old", &optimizer}};
static const asp_plugin_info info = {sizeof(asp_plugin_info), "abi10", "1.0", "speaks ABI 1.0", 2, components};

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  *abi_version = ASP_MAKE_ABI_VERSION(1, 0);
  return &info;
}
