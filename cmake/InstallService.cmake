# Run by `cmake --install` / cpack (see SkintrackInstall.cmake), where CMAKE_INSTALL_PREFIX is the
# final prefix and DESTDIR (file(INSTALL) adds it) the staging root. Writes the systemd unit with
# this prefix's paths and installs the sysusers.d file and the configuration file.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(sysconfdir "/etc")  # the FHS rule GNUInstallDirs applies too
else()
  set(sysconfdir "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(DOCDIR "${CMAKE_INSTALL_PREFIX}/share/doc/skintrack")
set(SYSCONFDIR "${sysconfdir}")
configure_file("${SKINTRACK_PACKAGING_DIR}/skintrack.service.in"
               "${SKINTRACK_INSTALL_WORK_DIR}/skintrack.service" @ONLY)
file(INSTALL "${SKINTRACK_INSTALL_WORK_DIR}/skintrack.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
file(INSTALL "${SKINTRACK_PACKAGING_DIR}/skintrack.sysusers"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d" RENAME skintrack.conf)
# An operator's edited configuration stays: `cmake --install` over it writes the defaults beside
# it (dpkg handles the package's conffile itself).
set(conf "$ENV{DESTDIR}${sysconfdir}/skintrack/skintrack.conf")
if(EXISTS "${conf}")
  file(INSTALL "${SKINTRACK_PACKAGING_DIR}/skintrack.conf" DESTINATION "${sysconfdir}/skintrack"
       RENAME skintrack.conf.default)
else()
  file(INSTALL "${SKINTRACK_PACKAGING_DIR}/skintrack.conf" DESTINATION "${sysconfdir}/skintrack"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
