# SPDX-License-Identifier: MIT
# One place for warnings and sanitizers; every FTW target calls ftw_set_warnings().

function(ftw_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
  else()
    target_compile_options(
      ${target}
      PRIVATE -Wall
              -Wextra
              -Wpedantic
              -Wshadow
              -Wnon-virtual-dtor
              -Wcast-align
              -Woverloaded-virtual
              -Wimplicit-fallthrough
              -Winvalid-pch)
    # GCC 12 at -O3 reports impossible memcpy bounds inside std::string concatenation (GCC bugs
    # 105651, 105545): false positives. They stay visible as warnings but do not fail the build.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-error=stringop-overflow -Wno-error=array-bounds)
    endif()
  endif()
  if(FTW_SANITIZER)
    string(REPLACE ";" "," _ftw_san "${FTW_SANITIZER}")
    target_compile_options(${target} PRIVATE -fsanitize=${_ftw_san} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${_ftw_san})
  endif()
  # libFuzzer's coverage feedback needs the code under test instrumented, not only the target.
  if(FTW_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
