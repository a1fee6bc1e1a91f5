# Read by ctest (a TEST_INCLUDE_FILES entry of each test directory of a
# sanitizer build, after the files gtest_discover_tests wrote): gives every
# test discovered in the directory the sanitizers' options. The discovered
# names are in the lists <target>_TESTS (or the TEST_LIST a call names, which
# must match asp_*_tests_TESTS too), set by those files.
include(${CMAKE_CURRENT_LIST_DIR}/environment.cmake)
get_cmake_property(asp_variables VARIABLES)
foreach(asp_variable IN LISTS asp_variables)
  if(asp_variable MATCHES "^asp_.*_tests_TESTS$")
    foreach(asp_test IN LISTS ${asp_variable})
      if(asp_test MATCHES "^OrcCrashTest\\.")
        set_tests_properties("${asp_test}" PROPERTIES ENVIRONMENT_MODIFICATION "${ASP_SANITIZER_ENVIRONMENT_NO_LEAK_CHECK}")
      else()
        set_tests_properties("${asp_test}" PROPERTIES ENVIRONMENT_MODIFICATION "${ASP_SANITIZER_ENVIRONMENT}")
      endif()
    endforeach()
    unset(${asp_variable})  # ctest keeps variables from one directory to the next: apply each list once
  endif()
endforeach()
