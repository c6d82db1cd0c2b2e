# The one way a benchmark is built: skintrack_add_bench(NAME SOURCES ... LIBS ... SMOKE args ...)
#
# - sources live in <module>/bench/; the executable is build/NAME (beside build/skintrack);
# - built in the default build, so -Werror and clang-tidy see benchmarks like any other code and
#   they cannot rot unnoticed;
# - SMOKE: arguments of a small, quick run registered as the CTest test NAME_smoke with label
#   `bench`, which scripts/test.sh and the default CI run exclude (`ctest -L bench` runs them).
#   A smoke run asserts only that the benchmark runs to the end; its figures mean nothing.
include_guard(GLOBAL)

function(skintrack_add_bench name)
  cmake_parse_arguments(B "" "" "SOURCES;LIBS;SMOKE" ${ARGN})
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE ${B_LIBS} skintrack_options)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  if(SKINTRACK_BUILD_TESTS AND B_SMOKE)
    add_test(NAME ${name}_smoke COMMAND ${name} ${B_SMOKE})
    set_tests_properties(${name}_smoke PROPERTIES LABELS bench TIMEOUT 300)
  endif()
endfunction()
