# asp_add_builtin_plugin(<target> <source>...)
#
# A plugin shipped with Asp (a backend or a domain specializer): built like a
# third party's (asp_add_plugin), placed in the plugin directory of the build
# tree, which mirrors the install tree, and installed there.
function(asp_add_builtin_plugin target)
  asp_add_plugin(${target} ${ARGN})
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/${ASP_PLUGIN_INSTALL_DIR})
  target_compile_definitions(${target} PRIVATE ASP_CORE_VERSION="${PROJECT_VERSION}")
  install(TARGETS ${target} LIBRARY DESTINATION ${ASP_PLUGIN_INSTALL_DIR})
endfunction()
