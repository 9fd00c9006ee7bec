# EXIF orientation (--exif-transpose), checked against Pillow's exif_transpose on JPEGs and PNGs
# generated at test time.
target_sources(pomona_image PRIVATE exif.cc)

set(POMONA_EXIF_FIXTURES_DIR ${CMAKE_CURRENT_BINARY_DIR}/exif_fixtures)
pomona_add_fixture(exif_fixtures SCRIPT tools/make_exif_fixtures.py ARGS ${POMONA_EXIF_FIXTURES_DIR})
pomona_add_test(exif_test SOURCES exif_test.cc LIBS pomona_image FIXTURES exif_fixtures)
if(POMONA_BUILD_TESTS)
  target_compile_definitions(exif_test PRIVATE POMONA_EXIF_FIXTURES_DIR="${POMONA_EXIF_FIXTURES_DIR}")
endif()
