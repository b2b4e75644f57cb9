# Hostile and heavy traffic against the real tally-server (issue: the server stays available): slow-loris
# connections beside uploading kiosks, memory under over-long batches, the nightly peak under load. Uses the
# sync harness (tests/sync.cmake) for the real kiosk-sync.
if(TARGET sync_harness)
  kiosk_add_test(tally_slow_clients SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_slow_clients.c
    LIBS sync_harness Threads::Threads LABELS integration)
  set_tests_properties(tally_slow_clients PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE)
endif()
# Wrong device clocks (a year ahead, 1970) are quarantined, not filed: the real kiosk-sync with --clock-offset-s.
if(TARGET sync_harness)
  kiosk_add_test(sync_clock SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_clock.c
    LIBS sync_harness LABELS integration)
endif()
# The nightly peak: 3,300 devices x 100 ratings over 1,000 connections, with 8 real kiosk-sync (figures in
# bench/load). loadgen.c is shared with the bench.
if(TARGET sync_harness AND TARGET tallylib)
  kiosk_add_test(tally_load SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_load.c
    ${CMAKE_CURRENT_SOURCE_DIR}/integration/loadgen.c LIBS sync_harness tallylib Threads::Threads LABELS integration)
  # Alone: its /healthz bound (1 s) is about the server, not about a neighbouring test taking the CPU.
  set_tests_properties(tally_load PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
endif()
# docs/openapi.yaml checked against the real server: every documented reply provoked and validated
# (Debian's /usr/bin/python3 with python3-yaml and python3-jsonschema, from scripts/bootstrap).
if(TARGET tally-server AND TARGET tally-admin)
  add_test(NAME openapi_check COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/openapi_check.py
    $<TARGET_FILE:tally-server> $<TARGET_FILE:tally-admin> ${KIOSK_SOURCE_DIR}/docs/openapi.yaml
    ${KIOSK_SOURCE_DIR}/assets/units-gialai.csv)
  set_tests_properties(openapi_check PROPERTIES LABELS integration TIMEOUT 120)
endif()
