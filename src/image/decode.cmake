# decode: sources and tests (JPEG/PNG -> RGB like Pillow)
# JPEG through the libjpeg API, PNG with zlib directly (see png_decode.cc for why not libpng).
target_sources(pomona_image PRIVATE decode.cc jpeg_decode.cc png_decode.cc)
target_link_libraries(pomona_image PRIVATE JPEG::JPEG ZLIB::ZLIB)

set(POMONA_DECODE_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/decode_fixtures)
pomona_add_test(decode_test SOURCES decode_test.cc LIBS pomona_image)

if(POMONA_BUILD_TESTS)
  # Images of every mode and Pillow's RGB for each are generated at test time, never committed.
  add_test(NAME make_decode_fixtures
           COMMAND ${POMONA_PYTHON} ${CMAKE_SOURCE_DIR}/tools/make_decode_fixtures.py
                   ${POMONA_DECODE_FIXTURES_DIR})
  set_tests_properties(make_decode_fixtures PROPERTIES FIXTURES_SETUP decode_fixtures)
  target_compile_definitions(decode_test
                             PRIVATE POMONA_DECODE_FIXTURES_DIR="${POMONA_DECODE_FIXTURES_DIR}")
  # Discovered tests exist only once ctest runs, so FIXTURES_REQUIRED is set from a file ctest
  # includes after the discovered list (decode_test_TESTS).
  set(decode_fixture_properties ${CMAKE_CURRENT_BINARY_DIR}/decode_fixture_properties.cmake)
  file(WRITE ${decode_fixture_properties}
       "set_tests_properties(\${decode_test_TESTS} PROPERTIES FIXTURES_REQUIRED decode_fixtures)\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${decode_fixture_properties})
endif()
