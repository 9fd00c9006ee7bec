# resize + preprocess: sources, tests, benchmarks (bit-exact Pillow resize)
target_sources(pomona_image PRIVATE resize.cc preprocess.cc)
# The weights are doubles rounded to fixed point exactly as Pillow rounds them: no fused
# multiply-adds in their computation, whatever flags a build adds.
set_source_files_properties(resize.cc PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")

set(POMONA_RESIZE_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/resize_fixtures)
pomona_add_test(resize_test SOURCES resize_test.cc LIBS pomona_image)
pomona_add_test(preprocess_test SOURCES preprocess_test.cc LIBS pomona_image)
pomona_add_benchmark(resize_benchmark SOURCES resize_benchmark.cc LIBS pomona_image)

if(POMONA_BUILD_TESTS)
  # Pillow's outputs are generated at test time into the build tree, never committed.
  add_test(NAME make_resize_fixtures
           COMMAND ${POMONA_PYTHON} ${CMAKE_SOURCE_DIR}/tools/make_resize_fixtures.py
                   ${POMONA_RESIZE_FIXTURES_DIR})
  set_tests_properties(make_resize_fixtures PROPERTIES FIXTURES_SETUP resize_fixtures)
  foreach(test_binary resize_test preprocess_test)
    target_compile_definitions(${test_binary}
                               PRIVATE POMONA_RESIZE_FIXTURES_DIR="${POMONA_RESIZE_FIXTURES_DIR}")
  endforeach()
  # gtest_discover_tests defines the tests when ctest starts, so their FIXTURES_REQUIRED can only
  # be set by a file ctest includes after the discovered lists (<target>_TESTS).
  set(fixture_properties_file ${CMAKE_CURRENT_BINARY_DIR}/resize_fixture_properties.cmake)
  file(WRITE ${fixture_properties_file}
       "set_tests_properties(\${resize_test_TESTS} \${preprocess_test_TESTS}\n"
       "  PROPERTIES FIXTURES_REQUIRED resize_fixtures)\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${fixture_properties_file})
endif()
