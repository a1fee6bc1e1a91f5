/* Returns NULL without reporting why: the host must still say something useful. */
#include <asp/plugin.h>

ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host, asp_host_context* ctx,
                                                          uint32_t* abi_version) {
  (void)host;
  (void)ctx;
  (void)abi_version;
  return NULL;
}
