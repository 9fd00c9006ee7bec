# decode: sources and tests (JPEG/PNG -> RGB like Pillow)
# JPEG through the libjpeg API, PNG with zlib and libdeflate directly (see png_decode.cc for why
# not libpng).
target_sources(pomona_image PRIVATE decode.cc decode_resize.cc jpeg_decode.cc jpeg_markers.cc png_chunks.cc
                                    png_decode.cc)
target_link_libraries(pomona_image PRIVATE JPEG::JPEG ZLIB::ZLIB PkgConfig::LIBDEFLATE)

# Images of every mode and Pillow's RGB for each are generated at test time, never committed.
set(POMONA_DECODE_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/decode_fixtures)
pomona_add_fixture(decode_fixtures SCRIPT tools/make_decode_fixtures.py
                   ARGS ${POMONA_DECODE_FIXTURES_DIR})
pomona_add_test(decode_test SOURCES decode_test.cc LIBS pomona_image FIXTURES decode_fixtures)
if(POMONA_BUILD_TESTS)
  target_compile_definitions(decode_test
                             PRIVATE POMONA_DECODE_FIXTURES_DIR="${POMONA_DECODE_FIXTURES_DIR}")
endif()

# Decode and resize throughput on N threads, without Python: run by bench/image_bench.py.
if(POMONA_BUILD_BENCHMARKS)
  add_executable(decode_resize_tool decode_resize_tool.cc)
  target_link_libraries(decode_resize_tool PRIVATE pomona_image)
  set_target_properties(decode_resize_tool PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                                      ${CMAKE_BINARY_DIR}/bench)
endif()

# The one JPEG marker walker and PNG chunk walker (decoders and EXIF), on damaged files built in
# the tests.
pomona_add_test(jpeg_markers_test SOURCES jpeg_markers_test.cc LIBS pomona_image)
pomona_add_test(png_chunks_test SOURCES png_chunks_test.cc LIBS pomona_image)
