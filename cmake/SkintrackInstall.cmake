# `cmake --install` and `cpack -G DEB` (docs/service.md "Installing and running under systemd").
# Installs the binary, the docs, the systemd unit, the sysusers.d file and the configuration file
# (commented defaults). The dashboard is embedded in the binary (src/service/CMakeLists.txt):
# nothing of web/ is installed.
include(GNUInstallDirs)

install(TARGETS skintrack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The unit names the installed paths, which are known only at install time (`cmake --install
# --prefix`, or cpack's /usr): the script writes it then.
install(CODE "set(SKINTRACK_PACKAGING_DIR \"${PROJECT_SOURCE_DIR}/packaging\")
              set(SKINTRACK_INSTALL_WORK_DIR \"${PROJECT_BINARY_DIR}/install-generated\")")
install(SCRIPT cmake/InstallService.cmake)

# --- the Debian package -------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME skintrack)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR skintrack)
set(CPACK_PACKAGE_CONTACT "skintrack maintainers <skintrack@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "longitudinal skin lesion tracking: HTTP API, image registration and scoring")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Scores psoriasis and vitiligo photographs over time (PASI / VASI style), aligns\n follow-up captures and serves the results over an HTTP API with a dashboard.")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# CPack's DEB generator installs with DESTDIR = its staging tree and CMAKE_INSTALL_PREFIX = /usr,
# so the unit names /usr/bin and the configuration goes to /etc (InstallService.cmake).
set(CPACK_STRIP_FILES ON)  # the RelWithDebInfo binary is 130 MB with its debug info
# Depends: the packages of the shared libraries the binary links, found by dpkg-shlibdeps
# (dpkg-dev, part of build-essential); without it, the Debian 12 packages listed here.
find_program(SKINTRACK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(SKINTRACK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "adduser, libc6, libstdc++6, libgcc-s1, libsqlite3-0, libssl3, libjpeg62-turbo, libopencv-core406, libopencv-imgproc406, libopencv-imgcodecs406, libopencv-features2d406, libopencv-calib3d406, libinsighttoolkit5.2, libdcmtk17")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles;${PROJECT_SOURCE_DIR}/packaging/debian/postinst;${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
