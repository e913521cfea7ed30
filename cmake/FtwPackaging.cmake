# SPDX-License-Identifier: MIT
# What `cmake --install` puts besides the programs (the bundled default model and dataset, the
# documentation), and the Debian package that CPack makes of it (issue #8):
#
#   cmake --workflow --preset package          # configure, build and package (Release)
#   cpack --preset deb                         # package an existing build/ci
#   cmake --build --preset ci --target package # the same through the build tool
#
# The package is build/ci/ftw_<version>_<arch>.deb; `apt install ./ftw_<version>_<arch>.deb` installs
# it and its dependencies from Debian's archive. installers/check-deb.sh checks one in a clean
# Debian 12 root. The programs and the desktop entry and icons are installed by app/ and resources/.

# The bundled default model, dataset and run config: findBundledDefaults()
# (engine/include/ftw/defaults.h) looks for them in <bin>/../share/ftw/default of an installed FTW.
# Their rebuild scripts (scripts/) stay in the source tree.
set(FTW_DEFAULTS_SOURCE_DIR "${PROJECT_SOURCE_DIR}/resources/default"
    CACHE PATH "Folder with the bundled default model/, dataset/, run.json and README.md to install")
set(_ftw_defaults_destination "${CMAKE_INSTALL_DATADIR}/ftw/default")
if(NOT EXISTS "${FTW_DEFAULTS_SOURCE_DIR}/model/config.json")
  message(STATUS "FTW: no bundled default model in ${FTW_DEFAULTS_SOURCE_DIR} yet: "
                 "`cmake --install` and the package fail until it is there")
endif()
# Checked when installing rather than when configuring, so that the rules below install the files
# as soon as they exist, without configuring again; and a package without them fails loudly.
install(
  CODE "foreach(_f model/config.json dataset/kjv-books.jsonl run.json README.md)
  if(NOT EXISTS \"${FTW_DEFAULTS_SOURCE_DIR}/\${_f}\")
    message(FATAL_ERROR \"FTW: the bundled defaults are incomplete: no ${FTW_DEFAULTS_SOURCE_DIR}/\${_f} \"
                        \"(set FTW_DEFAULTS_SOURCE_DIR to the folder that holds model/ and dataset/)\")
  endif()
endforeach()")
install(DIRECTORY "${FTW_DEFAULTS_SOURCE_DIR}/model" "${FTW_DEFAULTS_SOURCE_DIR}/dataset"
        DESTINATION "${_ftw_defaults_destination}")
install(FILES "${FTW_DEFAULTS_SOURCE_DIR}/run.json" "${FTW_DEFAULTS_SOURCE_DIR}/README.md"
        DESTINATION "${_ftw_defaults_destination}")

# Documentation: share/doc/ftw, with the licence (MIT, as every file's SPDX line says).
install(FILES README.md LICENSE DESTINATION "${CMAKE_INSTALL_DOCDIR}")

if(NOT PROJECT_IS_TOP_LEVEL)
  return()
endif()

# CPack: one Debian package, ftw, installed under /usr.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "ftw")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "FTW maintainers")
set(CPACK_PACKAGE_CONTACT "FTW maintainers <maintainers@users.noreply.h-seed-a0a7183f.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Fine-Tuning Workbench: fine-tune language models with adapters")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT") # ftw_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_COMPRESSION_TYPE "xz")
# The long description; CPack puts the summary above it and formats it as Debian's control file
# wants (a space before each line, " ." for the empty one).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "FTW fine-tunes Hugging Face-layout language models with parameter-efficient
adapters (LoRA and its variants) on LibTorch, keeps every run in a SQLite
database, and compares, evaluates and merges them.

This package holds the `ftw` command line, the `ftw-workbench` desktop
application, and a small bundled model and dataset in /usr/share/ftw/default
that `ftw train` and the workbench use when nothing else is chosen.")
# The architecture is dpkg's own (amd64 on x86-64 Debian).
find_program(FTW_DPKG_EXECUTABLE dpkg)
if(FTW_DPKG_EXECUTABLE)
  execute_process(COMMAND "${FTW_DPKG_EXECUTABLE}" --print-architecture
                  OUTPUT_VARIABLE CPACK_DEBIAN_PACKAGE_ARCHITECTURE OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()

# Dependencies: dpkg-shlibdeps (from dpkg-dev) names the packages of every shared library the
# programs link (LibTorch, Qt, SQLite, ICU, ...). What it cannot see is listed by hand:
# - libopenblas0-pthread: Debian's LibTorch calls libblas.so.3, and the reference BLAS that would
#   otherwise provide it is 25-40x slower for matrix products;
# - qt6-qpa-plugins: the xcb platform plugin, loaded at run time by the workbench;
# - fonts-dejavu-core: Qt finds no font on a system without one.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(_ftw_runtime_depends "libopenblas0-pthread")
if(FTW_BUILD_UI)
  list(APPEND _ftw_runtime_depends "qt6-qpa-plugins" "fonts-dejavu-core")
endif()
list(JOIN _ftw_runtime_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)

include(CPack)
