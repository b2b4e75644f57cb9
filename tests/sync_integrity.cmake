# Kiosk integrity (issue #11): every answer a citizen gave reaches the tally. Sorted after sync.cmake (it needs
# sync_harness). First the tally's rule for a rating that gains its follow-up after it was stored.
if(TARGET tallylib)
  kiosk_add_test(test_ingest_followup SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ingest_followup.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib LABELS unit)
  target_include_directories(test_ingest_followup PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
endif()

# The follow-up race end to end, kiosk-sync killed mid-batch, kiosk-report --rejected, and kiosk-sync's runs
# on an injected clock (the real tally-server; the fault proxy holds a reply).
if(TARGET sync_harness)
  kiosk_add_test(sync_integrity SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_integrity.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fault/proxy.c LIBS sync_harness ksyncagent Threads::Threads LABELS integration)
  target_include_directories(sync_integrity PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fault)
  target_compile_definitions(sync_integrity PRIVATE KIOSK_REPORT_BIN="$<TARGET_FILE:kiosk-report>")
  add_dependencies(sync_integrity kiosk-report)
  set_tests_properties(sync_integrity PROPERTIES TIMEOUT 300)
endif()
