# resize + preprocess: sources, tests, benchmarks (bit-exact Pillow resize)
# resize_avx2.cc and resize_avx512.cc turn their instruction sets on per function (#pragma),
# never for the whole build; resize.cc calls them only on CPUs that have them.
target_sources(pomona_image PRIVATE resize.cc resize_avx2.cc resize_avx512.cc preprocess.cc)
# The weights are doubles rounded to fixed point exactly as Pillow rounds them: no fused
# multiply-adds in their computation, whatever flags a build adds.
set_source_files_properties(resize.cc PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")

# Pillow's outputs are generated at test time into the build tree, never committed.
set(POMONA_RESIZE_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/resize_fixtures)
pomona_add_fixture(resize_fixtures SCRIPT tools/make_resize_fixtures.py
                   ARGS ${POMONA_RESIZE_FIXTURES_DIR})
pomona_add_test(resize_test SOURCES resize_test.cc LIBS pomona_image FIXTURES resize_fixtures)
# Cases the fuzzer found (fuzz/), pinned on every instruction set.
pomona_add_test(resize_regressions_test SOURCES resize_regressions_test.cc LIBS pomona_image)
pomona_add_test(preprocess_test SOURCES preprocess_test.cc LIBS pomona_image
                FIXTURES resize_fixtures)
pomona_add_benchmark(resize_benchmark SOURCES resize_benchmark.cc LIBS pomona_image)
if(POMONA_BUILD_TESTS)
  foreach(test_binary resize_test preprocess_test)
    target_compile_definitions(${test_binary}
                               PRIVATE POMONA_RESIZE_FIXTURES_DIR="${POMONA_RESIZE_FIXTURES_DIR}")
  endforeach()
endif()
