# asp_add_plugin(<target> [SOURCES] <file>...)
#
# Builds an Asp plugin: a loadable module linked against the plugin API only
# (Asp::plugin_api), C++20, every symbol hidden but the entry point. The same
# function builds the plugins in this tree and, from the installed package
# (find_package(Asp)), third-party plugins out of tree.
function(asp_add_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
  add_library(${target} MODULE ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE Asp::plugin_api)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # An unresolved symbol should fail the link, not the load.
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
endfunction()
