/* Returns a component of an unknown kind: the host must refuse it. */
#include <asp/plugin.h>

static const int dummy_vtable[8] = {0};
static const asp_component components[] = {
    {sizeof(asp_component), (asp_component_kind)77, "strange", NULL, dummy_vtable}};
static const asp_plugin_info info = {sizeof(asp_plugin_info), "malformed", "1.0", NULL, 1, components};

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  (void)abi_version;
  return &info;
}
