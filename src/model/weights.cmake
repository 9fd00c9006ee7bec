# Keras weights (HDF5) and the ~/.keras cache
target_sources(pomona_model PRIVATE keras_weights.cc keras_cache.cc)
target_include_directories(pomona_model SYSTEM PRIVATE ${HDF5_INCLUDE_DIRS})
target_link_libraries(pomona_model PRIVATE ${HDF5_C_LIBRARIES} CURL::libcurl)

# Seeded synthetic weights files (tools/make_test_weights.py --test-set), generated at test time
# and never committed (the 1.0/224 one is 14 MB). Tests that need them require the fixture
# keras_test_weights and read ${POMONA_TEST_WEIGHTS_DIR}:
#   models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{1.0_224,0.35_96}.h5  (legacy H5, laid
#   out as a Keras cache, so KERAS_HOME=${POMONA_TEST_WEIGHTS_DIR} finds them)
#   mobilenet_v2_0.35_96.weights.h5  (Keras 3)
# each with <file>.summary beside it: names, shapes and checksums of every array.
set(POMONA_TEST_WEIGHTS_DIR ${CMAKE_BINARY_DIR}/test_weights)
pomona_add_test(keras_weights_test SOURCES keras_weights_test.cc LIBS pomona_model)
pomona_add_test(keras_cache_test SOURCES keras_cache_test.cc LIBS pomona_model)

if(POMONA_BUILD_TESTS)
  add_test(NAME make_test_weights
           COMMAND ${POMONA_PYTHON} ${CMAKE_SOURCE_DIR}/tools/make_test_weights.py --test-set
                   ${POMONA_TEST_WEIGHTS_DIR})
  set_tests_properties(make_test_weights PROPERTIES FIXTURES_SETUP keras_test_weights)
  foreach(test_binary keras_weights_test keras_cache_test)
    target_compile_definitions(${test_binary}
                               PRIVATE POMONA_TEST_WEIGHTS_DIR="${POMONA_TEST_WEIGHTS_DIR}")
  endforeach()
  # The fetch tests serve files with `python -m http.server`.
  target_compile_definitions(keras_cache_test PRIVATE POMONA_PYTHON="${POMONA_PYTHON}")
  # gtest_discover_tests defines the tests when ctest starts, so their FIXTURES_REQUIRED can only
  # be set by a file ctest includes after the discovered lists (<target>_TESTS).
  set(weights_fixture_file ${CMAKE_CURRENT_BINARY_DIR}/keras_weights_fixture_properties.cmake)
  file(WRITE ${weights_fixture_file}
       "set_tests_properties(\${keras_weights_test_TESTS} \${keras_cache_test_TESTS}\n"
       "  PROPERTIES FIXTURES_REQUIRED keras_test_weights)\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${weights_fixture_file})
endif()
