# SPDX-License-Identifier: MIT
# Runs the real `ftw` binary on a fresh database and checks its exit code and output.
# -DFTW=<binary> -DARGS=<list> -DEXPECT_RC=<n> [-DEXPECT_STDOUT=<regex>] [-DEXPECT_STDERR=<regex>]
# -DWORK_DIR=<folder, emptied first>
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(ENV{FTW_DB} "${WORK_DIR}/ftw.db")
execute_process(
  COMMAND "${FTW}" ${ARGS}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
set(report "ftw ${ARGS}\n  exit code: ${rc}\n  stdout: ${out}\n  stderr: ${err}")
if(NOT rc STREQUAL EXPECT_RC)
  message(FATAL_ERROR "expected exit code ${EXPECT_RC}\n${report}")
endif()
if(EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
  message(FATAL_ERROR "stdout does not match '${EXPECT_STDOUT}'\n${report}")
endif()
if(EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}'\n${report}")
endif()
message(STATUS "ok: ${report}")
