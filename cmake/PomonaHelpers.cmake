# pomona_add_test(NAME SOURCES src.cc... LIBS lib... [FIXTURES fixture...]): a GoogleTest binary
# beside the code it covers, registered with ctest, whose tests run after the setup steps of the
# named fixtures (pomona_add_fixture). Tests find data through POMONA_SOURCE_DIR.
function(pomona_add_test name)
  if(NOT POMONA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE POMONA_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT "POMONA_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  if(ARG_FIXTURES)
    # Discovered tests exist only once ctest reads their list (<target>_TESTS), so their
    # FIXTURES_REQUIRED is set by a file ctest includes after it.
    set(properties_file ${CMAKE_CURRENT_BINARY_DIR}/${name}_fixtures.cmake)
    file(WRITE ${properties_file}
         "set_tests_properties(\${${name}_TESTS} PROPERTIES FIXTURES_REQUIRED \"${ARG_FIXTURES}\")\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${properties_file})
  endif()
endfunction()

# pomona_add_fixture(NAME SCRIPT tools/x.py ARGS arg...): a ctest step that generates test data
# with the project venv's python (Pillow, numpy, h5py) before the tests that require NAME.
function(pomona_add_fixture name)
  if(NOT POMONA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "SCRIPT" "ARGS" ${ARGN})
  add_test(NAME make_${name} COMMAND ${POMONA_PYTHON} ${CMAKE_SOURCE_DIR}/${ARG_SCRIPT} ${ARG_ARGS})
  set_tests_properties(make_${name} PROPERTIES FIXTURES_SETUP ${name})
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
