# Third-party libraries, each from Debian's packages except Arrow/Parquet (from the pyarrow wheel
# in the project's .venv, see scripts/bootstrap.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(PNG REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(CLI11 CONFIG REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(CURL REQUIRED)  # its header only: model/http_download.cc loads libcurl to download
find_package(OpenMP REQUIRED)
# SHA-256 of weights files and indexes (io/sha256.cc).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
# classify/: approximate nearest neighbours for large indexes (header-only).
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
# serve/: the HTTP server, cpp-httplib's header-only httplib.h from Debian's source package
# (scripts/bootstrap.sh puts it in .deps/), never /usr/include's: that one is the declarations of
# Debian's compiled libcpp-httplib, which needs GLIBCXX_3.4.30, above manylinux_2_34.
find_path(CPP_HTTPLIB_INCLUDE_DIR httplib.h PATHS ${CMAKE_SOURCE_DIR}/.deps/cpp-httplib NO_DEFAULT_PATH)
if(NOT CPP_HTTPLIB_INCLUDE_DIR)
  message(FATAL_ERROR "no .deps/cpp-httplib/httplib.h: run scripts/bootstrap.sh (make does).")
endif()
# The libjpeg API of libjpeg-turbo (JPEG::JPEG): suspending input, as Pillow reads JPEGs.
find_package(JPEG REQUIRED)
# libdeflate: whole-buffer inflate of PNG data, faster than zlib's (src/image/png_decode.cc).
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)

find_library(DNNL_LIBRARY NAMES dnnl REQUIRED)
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp REQUIRED)
add_library(pomona_dnnl INTERFACE)
target_link_libraries(pomona_dnnl INTERFACE ${DNNL_LIBRARY} OpenMP::OpenMP_CXX)
target_include_directories(pomona_dnnl SYSTEM INTERFACE ${DNNL_INCLUDE_DIR})

# BLAS (syrk, gemm) and LAPACK (dsyevd) for pca/: Debian's OpenBLAS and LAPACKE; cblas.h is in
# the multiarch include folder the compiler searches by default.
find_library(OPENBLAS_LIBRARY NAMES openblas REQUIRED)
find_library(LAPACKE_LIBRARY NAMES lapacke REQUIRED)
add_library(pomona_lapack INTERFACE)
target_link_libraries(pomona_lapack INTERFACE ${LAPACKE_LIBRARY} ${OPENBLAS_LIBRARY})

set(POMONA_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python of the project's venv")
# The Python whose pyarrow gives Arrow C++ (headers, libraries): the project's .venv, except for
# a wheel whose CPython that pyarrow does not support (scripts/build_wheels.sh: cp310, pyarrow 25).
set(POMONA_ARROW_PYTHON "${POMONA_PYTHON}" CACHE FILEPATH "Python whose pyarrow provides Arrow C++")
execute_process(
  COMMAND ${POMONA_ARROW_PYTHON} -c "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0])"
  OUTPUT_VARIABLE _pyarrow_dirs RESULT_VARIABLE _pyarrow_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pyarrow_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow not found in ${POMONA_ARROW_PYTHON}: run scripts/bootstrap.sh (make does).")
endif()
string(REPLACE "\n" ";" _pyarrow_dirs "${_pyarrow_dirs}")
list(GET _pyarrow_dirs 0 ARROW_INCLUDE_DIR)
list(GET _pyarrow_dirs 1 ARROW_LIB_DIR)
add_library(pomona_arrow INTERFACE)
target_include_directories(pomona_arrow SYSTEM INTERFACE ${ARROW_INCLUDE_DIR})
target_link_directories(pomona_arrow INTERFACE ${ARROW_LIB_DIR})
target_link_libraries(pomona_arrow INTERFACE parquet arrow)
# Arrow's S3FileSystem: a library of its own (libarrow_s3) from Arrow 26, inside libarrow before.
add_library(pomona_arrow_s3 INTERFACE)
if(EXISTS "${ARROW_LIB_DIR}/libarrow_s3.so")
  target_link_libraries(pomona_arrow_s3 INTERFACE arrow_s3)
endif()
# The binary finds the wheel's libraries where they are installed.
list(APPEND CMAKE_BUILD_RPATH ${ARROW_LIB_DIR})

if(POMONA_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(POMONA_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
