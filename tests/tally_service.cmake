# Deployment (issue 12): tally-admin backup/restore under upload load and tally-server under systemd's notify
# protocol (after sync.cmake, whose sync_harness these use). The packaging checks are in packaging.cmake.
if(TARGET sync_harness)
  kiosk_add_test(tally_backup_load SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_backup_load.c
    LIBS sync_harness PkgConfig::SQLITE3 LABELS integration)
  set_tests_properties(tally_backup_load PROPERTIES TIMEOUT 300)
endif()
if(TARGET sync_harness)
  kiosk_add_test(tally_service SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_service.c
    LIBS sync_harness PkgConfig::SQLITE3 LABELS integration)
  target_compile_definitions(tally_service PRIVATE _GNU_SOURCE) # strcasestr
endif()

# GET /metrics: the module alone (counters, exposition grammar, --metrics-allow).
kiosk_add_test(test_metrics SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_metrics.c
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/prom_check.c LIBS tallylib LABELS unit)
target_include_directories(test_metrics PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
# GET /metrics on the real server.
if(TARGET sync_harness)
  kiosk_add_test(tally_metrics_http SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_metrics_http.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/prom_check.c LIBS sync_harness LABELS integration)
  target_include_directories(tally_metrics_http PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
endif()

# tally-server behind a reverse proxy: --trusted-proxy and X-Forwarded-For for the sign-in lockout and audit.
if(TARGET sync_harness)
  kiosk_add_test(tally_proxy SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_proxy.c
    LIBS sync_harness PkgConfig::CURL PkgConfig::SQLITE3 LABELS integration)
endif()
