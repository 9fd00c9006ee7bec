# MobileNetV2 on oneDNN: the network (mobilenet_v2.cc), one file per operator (ops/).
target_sources(pomona_model PRIVATE
  mobilenet_v2.cc
  ops/batch_norm.cc
  ops/bf16_weights.cc
  ops/conv.cc
  ops/depthwise_conv.cc
  ops/expand_depthwise_conv.cc
  ops/global_avg_pool.cc
  ops/plan.cc)
target_link_libraries(pomona_model PRIVATE pomona_dnnl)

# Seeded random weights of any spec, for the tests and benchmark that need no Keras file.
add_library(pomona_model_random_weights STATIC random_weights.cc)
pomona_module_includes(pomona_model_random_weights)
# Its header is test support (tests/support/random_weights.h), for the tests of other modules too.
target_include_directories(pomona_model_random_weights PUBLIC ${PROJECT_SOURCE_DIR}/tests/support)
target_link_libraries(pomona_model_random_weights PUBLIC pomona_model)

# The fidelity tests' inputs: the Keras fixture images preprocessed as the notebook does.
set(network_inputs_dir ${CMAKE_BINARY_DIR}/network_inputs)
pomona_add_fixture(network_inputs SCRIPT tools/make_network_inputs.py
                   ARGS --size 224 --size 96 ${network_inputs_dir})
pomona_add_test(feature_extractor_test
  SOURCES feature_extractor_test.cc
  LIBS pomona_model_random_weights pomona_dnnl
  FIXTURES keras_test_weights network_inputs)
pomona_add_test(bf16_weights_test
  SOURCES ops/bf16_weights_test.cc
  LIBS pomona_model)
pomona_add_benchmark(feature_extractor_benchmark
  SOURCES feature_extractor_benchmark.cc
  LIBS pomona_model_random_weights pomona_dnnl)
if(POMONA_BUILD_TESTS)
  target_compile_definitions(feature_extractor_test PRIVATE
                             POMONA_TEST_WEIGHTS_DIR="${POMONA_TEST_WEIGHTS_DIR}"
                             POMONA_NETWORK_INPUTS_DIR="${network_inputs_dir}")
endif()
