# The module rule: a module (src/<module>/) or face (src/cli/, python/src/) sees the public headers
# in include/ plus the headers of its own folder, and nothing of another module's folder, so that
# including another module's private header fails to build (tests/CMakeLists.txt checks it on the
# real targets). Third-party headers come with the libraries a target links.
# pomona_module_includes(TARGET [FOLDER dir]): that rule for TARGET; FOLDER defaults to the folder
# of the calling CMakeLists.txt.
function(pomona_module_includes target)
  cmake_parse_arguments(ARG "" "FOLDER" "" ${ARGN})
  if(NOT ARG_FOLDER)
    set(ARG_FOLDER ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE" OR type STREQUAL "MODULE_LIBRARY")
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${ARG_FOLDER})
  else()
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                         PRIVATE ${ARG_FOLDER})
  endif()
endfunction()

# pomona_add_test(NAME SOURCES src.cc... LIBS lib... [FIXTURES fixture...]): a GoogleTest binary
# beside the code it covers (it sees that module's folder), registered with ctest, whose tests run
# after the setup steps of the named fixtures (pomona_add_fixture). Tests find data through
# POMONA_SOURCE_DIR.
function(pomona_add_test name)
  if(NOT POMONA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  pomona_module_includes(${name})
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

# pomona_add_benchmark(NAME src.cc... LIBS lib...): a Google Benchmark binary beside the code it
# measures (it sees that module's folder), run by make bench.
function(pomona_add_benchmark name)
  if(NOT POMONA_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  pomona_module_includes(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endfunction()

if(POMONA_BUILD_TESTS)
  # Temp folders and privilege dropping for the tests of several modules
  # (tests/support/temp_folder_for_tests.h).
  add_library(pomona_file_test_support INTERFACE)
  target_include_directories(pomona_file_test_support INTERFACE ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(pomona_file_test_support INTERFACE GTest::gmock)
endif()
