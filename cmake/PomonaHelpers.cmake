# pomona_add_test(NAME src.cc... LIBS lib...): a GoogleTest binary beside the code it covers,
# registered with ctest. Tests find data through POMONA_SOURCE_DIR.
function(pomona_add_test name)
  if(NOT POMONA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE POMONA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT "POMONA_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

# pomona_add_benchmark(NAME src.cc... LIBS lib...): a Google Benchmark binary, run by make bench.
function(pomona_add_benchmark name)
  if(NOT POMONA_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endfunction()
