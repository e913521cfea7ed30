# SPDX-License-Identifier: MIT
# Configures FTW from scratch with FTW_BUILD_UI=OFF while find_package(Qt6) is forbidden, as on a
# machine without Qt, and checks that no Qt package was looked up.
# -DSOURCE_DIR=<repository> -DBINARY_DIR=<scratch folder> -DGENERATOR=<generator> [-DPREFIX_PATH=...]
file(REMOVE_RECURSE "${BINARY_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}"
          -DFTW_BUILD_UI=OFF -DFTW_BUILD_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON
          "-DCMAKE_PREFIX_PATH=${PREFIX_PATH}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "headless configure failed (${rc}):\n${out}\n${err}")
endif()
file(STRINGS "${BINARY_DIR}/CMakeCache.txt" qt_entries REGEX "^Qt6[A-Za-z]*_DIR:")
if(qt_entries)
  message(FATAL_ERROR "the headless configure looked for Qt: ${qt_entries}")
endif()
message(STATUS "headless configure without Qt: ok")
