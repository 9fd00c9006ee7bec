# Keras weights (HDF5) and the ~/.keras cache. The download loads libcurl when it starts
# (http_download.cc): only libcurl's header is used here, and nothing links the library.
target_sources(pomona_model PRIVATE keras_weights.cc keras_weights_load.cc weights_sandbox.cc keras_cache.cc weights_identity.cc
                                    http_download.cc)
target_include_directories(pomona_model SYSTEM PRIVATE ${HDF5_INCLUDE_DIRS} ${CURL_INCLUDE_DIRS})
target_link_libraries(pomona_model PRIVATE ${HDF5_C_LIBRARIES} ${CMAKE_DL_LIBS} pomona_io)

# Seeded synthetic weights files (tools/make_test_weights.py --test-set), generated at test time
# and never committed (the 1.0/224 one is 14 MB). Tests that need them require the fixture
# keras_test_weights and read ${POMONA_TEST_WEIGHTS_DIR}:
#   models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{1.0_224,0.35_96}.h5  (legacy H5, laid
#   out as a Keras cache, so KERAS_HOME=${POMONA_TEST_WEIGHTS_DIR} finds them)
#   mobilenet_v2_0.35_96.weights.h5  (Keras 3)
# each with <file>.summary beside it: names, shapes and checksums of every array.
# A cache entry, so that the tests of later modules (pipeline/) see it too.
set(POMONA_TEST_WEIGHTS_DIR ${CMAKE_BINARY_DIR}/test_weights CACHE INTERNAL "")
pomona_add_fixture(keras_test_weights SCRIPT tools/make_test_weights.py
                   ARGS --test-set ${POMONA_TEST_WEIGHTS_DIR})
pomona_add_test(keras_weights_test SOURCES keras_weights_test.cc LIBS pomona_model
                FIXTURES keras_test_weights)
pomona_add_test(keras_cache_test SOURCES keras_cache_test.cc LIBS pomona_model
                FIXTURES keras_test_weights)
pomona_add_test(http_download_test SOURCES http_download_test.cc LIBS pomona_model)
pomona_add_test(weights_identity_test SOURCES weights_identity_test.cc LIBS pomona_model)
if(POMONA_BUILD_TESTS)
  foreach(test_binary keras_weights_test keras_cache_test)
    target_compile_definitions(${test_binary}
                               PRIVATE POMONA_TEST_WEIGHTS_DIR="${POMONA_TEST_WEIGHTS_DIR}")
  endforeach()
  # The fetch tests serve files with `python -m http.server`.
  target_compile_definitions(keras_cache_test PRIVATE POMONA_PYTHON="${POMONA_PYTHON}")
endif()
