/* Answers with ABI major version 2, which this host must refuse. */
#include <asp/plugin.h>

static const asp_plugin_info info = {sizeof(asp_plugin_info), "future", "9.0", NULL, 0, NULL};

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  *abi_version = ASP_MAKE_ABI_VERSION(2, 0);
  return &info;
}
