# cmake -DROOT=<source dir> -P CheckRelativeIncludes.cmake: fails, naming each, when a source
# of a module or face includes a file by a path that leaves its folder ("../x.h", "/abs/x.h",
# "src/..."), which include paths cannot refuse (tests/CMakeLists.txt, the module rule).
file(GLOB_RECURSE sources RELATIVE ${ROOT} ${ROOT}/src/*.cc ${ROOT}/src/*.h ${ROOT}/include/*.h
     ${ROOT}/python/src/*.cc ${ROOT}/python/src/*.h)
set(offenders "")
foreach(source ${sources})
  file(STRINGS ${ROOT}/${source} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  foreach(line ${lines})
    if(line MATCHES "#[ \t]*include[ \t]*[\"<](\\.\\./|\\./|/|src/|python/)")
      list(APPEND offenders "${source}: ${line}")
    endif()
  endforeach()
endforeach()
list(LENGTH sources count)
if(count LESS 50)
  message(FATAL_ERROR "found only ${count} sources under ${ROOT}: wrong ROOT?")
endif()
if(offenders)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR "includes that leave their module's folder:\n  ${text}")
endif()
message(STATUS "${count} sources include only include/ and their own folder")
