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
  endif()
  if(FTW_SANITIZER)
    string(REPLACE ";" "," _ftw_san "${FTW_SANITIZER}")
    target_compile_options(${target} PRIVATE -fsanitize=${_ftw_san} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${_ftw_san})
  endif()
endfunction()
