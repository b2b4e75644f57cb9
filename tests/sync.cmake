# The uploader (kiosk-sync): schedule and engine unit tests, then the end-to-end, multi-kiosk and fault tests
# against the real tally-server (sync/tally) and the real kiosk-sync binary.
kiosk_add_test(test_schedule SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schedule.c LIBS ksync LABELS unit)
kiosk_add_test(test_uploader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_uploader.c
  LIBS ksyncagent PkgConfig::MHD Threads::Threads LABELS unit)

# End to end with the real programs (needs the tally server from sync/tally).
if(TARGET tally-server AND TARGET tally-admin)
  add_library(sync_harness STATIC ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_harness.c)
  target_include_directories(sync_harness PUBLIC ${KIOSK_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_link_libraries(sync_harness PUBLIC kstore proto PkgConfig::CURL PkgConfig::JANSSON)
  target_compile_definitions(sync_harness PUBLIC
    KIOSK_SYNC_BIN="$<TARGET_FILE:kiosk-sync>"
    TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
    TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
  add_dependencies(sync_harness kiosk-sync tally-server tally-admin)

  kiosk_add_test(sync_e2e SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_e2e.c
    LIBS sync_harness LABELS integration)
  kiosk_add_test(sync_multi SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_multi.c
    LIBS sync_harness LABELS integration)
  kiosk_add_test(sync_fault SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_fault.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fault/proxy.c LIBS sync_harness Threads::Threads LABELS "integration;fault")
  target_include_directories(sync_fault PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fault)
  set_tests_properties(sync_fault PROPERTIES TIMEOUT 300)
endif()

# HTTPS end to end: tally-server terminating TLS itself with a self-signed certificate that openssl makes at
# test time, and kiosk-sync trusting it through ca_file (and refusing it without).
if(TARGET sync_harness)
  find_program(OPENSSL_BIN openssl)
  if(OPENSSL_BIN)
    kiosk_add_test(tls_e2e SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tls_e2e.c
      LIBS sync_harness LABELS integration)
    target_compile_definitions(tls_e2e PRIVATE OPENSSL_BIN="${OPENSSL_BIN}")
  else()
    message(WARNING "openssl not found (scripts/bootstrap installs it): the tls_e2e test is not built")
  endif()
endif()
if(TEST tls_e2e)
  # GnuTLS leaks a parse failure's certificate object when tally-server refuses a corrupt --tls-cert; see the file.
  set_property(TEST tls_e2e APPEND PROPERTY ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()

# The tally server's per-address connection limit (one client cannot hold every slot).
if(TARGET sync_harness)
  kiosk_add_test(tally_conn_limit SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_conn_limit.c
    LIBS sync_harness LABELS integration)
endif()
