# Deployment checks (issue 12; see packaging/ and tests/install/).
# units_check: systemd-analyze verify on every unit and the offline security rating of tally-server.service
# (exposure <= 2.0). Quick, no root, runs in both builds.
find_program(SYSTEMD_ANALYZE_BIN systemd-analyze)
if(SYSTEMD_ANALYZE_BIN)
  add_test(NAME units_check COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/units_check.sh ${KIOSK_SOURCE_DIR}/packaging
    $<TARGET_FILE_DIR:tally-server> $<TARGET_FILE_DIR:kiosk> $<TARGET_FILE_DIR:kiosk-sync>)
  set_tests_properties(units_check PROPERTIES LABELS install)
else()
  message(WARNING "systemd-analyze not found (scripts/bootstrap installs systemd): units_check is not registered")
endif()

# deb_install_chroot: scripts/package, then both .debs installed, used, upgraded and purged in a throwaway
# Debian 12 root (mmdebstrap; the base root is cached in build/chroot-cache: 2.5-5 minutes the first time,
# then the test takes about a minute, plus the package build; HAILONG_CHROOT_CACHE=DIR keeps the cache
# elsewhere, e.g. outside a CI run's fresh clone). Needs root (chroot, mount). It tests the packages, not this build, so only the normal build
# runs it; RUN_SERIAL because it builds the packages on the same two cores.
find_program(MMDEBSTRAP_BIN mmdebstrap)
execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT SANITIZE AND MMDEBSTRAP_BIN AND _uid STREQUAL "0")
  add_test(NAME deb_install_chroot COMMAND sh -c
    "${KIOSK_SOURCE_DIR}/scripts/package --lintian && ${CMAKE_CURRENT_SOURCE_DIR}/install/chroot_install.sh ${KIOSK_SOURCE_DIR}/dist \"\${HAILONG_CHROOT_CACHE:-${KIOSK_SOURCE_DIR}/build/chroot-cache}\"")
  set_tests_properties(deb_install_chroot PROPERTIES LABELS install TIMEOUT 1200 RUN_SERIAL TRUE)
elseif(NOT SANITIZE)
  message(STATUS "deb_install_chroot needs root and mmdebstrap: not registered (run tests/install/chroot_install.sh by hand)")
endif()
