# Package files installed with the library, all relocatable: each finds the install prefix
# from its own location, so an install tree can be moved or copied as a whole.
#
#   <libdir>/cmake/swiftquic/swiftquic-config.cmake   find_package(swiftquic) -> swiftquic::swiftquic
#   share/msquic/msquic-config.cmake                  find_package(msquic)    -> msquic::msquic
#       (the place and target name of MsQuic's own installed package, so projects written
#        for MsQuic configure unchanged)
#   <libdir>/pkgconfig/swiftquic.pc                   pkg-config swiftquic  (-lswiftquic)
#   <libdir>/pkgconfig/msquic.pc                      pkg-config msquic     (-lmsquic)

set(_pkg_dir "${PROJECT_BINARY_DIR}/package")

# --- CMake: swiftquic ------------------------------------------------------------------------
set(SWIFTQUIC_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/swiftquic")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/swiftquic-config.cmake.in"
  "${_pkg_dir}/swiftquic/swiftquic-config.cmake"
  INSTALL_DESTINATION "${SWIFTQUIC_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  "${_pkg_dir}/swiftquic/swiftquic-config-version.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES "${_pkg_dir}/swiftquic/swiftquic-config.cmake"
              "${_pkg_dir}/swiftquic/swiftquic-config-version.cmake"
        DESTINATION "${SWIFTQUIC_CMAKE_DIR}")

# --- CMake: msquic (MsQuic's package name, place and target) ---------------------------------
set(SWIFTQUIC_MSQUIC_CMAKE_DIR "share/msquic")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/msquic-config.cmake.in"
  "${_pkg_dir}/msquic/msquic-config.cmake"
  INSTALL_DESTINATION "${SWIFTQUIC_MSQUIC_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  "${_pkg_dir}/msquic/msquic-config-version.cmake"
  VERSION "${SWIFTQUIC_MSQUIC_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES "${_pkg_dir}/msquic/msquic-config.cmake"
              "${_pkg_dir}/msquic/msquic-config-version.cmake"
        DESTINATION "${SWIFTQUIC_MSQUIC_CMAKE_DIR}")

# --- pkg-config ------------------------------------------------------------------------------
# ${pcfiledir} is the directory of the .pc file; the prefix is found relative to it.
set(_pc_install_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH SWIFTQUIC_PC_TO_PREFIX "/__prefix__/${_pc_install_dir}" "/__prefix__")
string(REGEX REPLACE "/$" "" SWIFTQUIC_PC_TO_PREFIX "${SWIFTQUIC_PC_TO_PREFIX}")
foreach(_pc swiftquic msquic)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_pc}.pc.in" "${_pkg_dir}/${_pc}.pc" @ONLY)
  install(FILES "${_pkg_dir}/${_pc}.pc" DESTINATION "${_pc_install_dir}")
endforeach()
