# The nightly peak (bench/load.c): 3,300 devices x 100 ratings over 1,000 connections against a real
# tally-server, beside the bare in-process ingest of the same batches. Shares tests/integration/loadgen.c.
if(TARGET tally-server AND TARGET tally-admin AND TARGET tallylib)
  kiosk_add_bench(load SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/load.c
    ${KIOSK_SOURCE_DIR}/tests/integration/loadgen.c ${KIOSK_SOURCE_DIR}/tests/integration/sync_harness.c
    LIBS tallylib kstore proto PkgConfig::CURL PkgConfig::JANSSON Threads::Threads)
  target_include_directories(load PRIVATE ${KIOSK_SOURCE_DIR}/tests/integration)
  target_compile_definitions(load PRIVATE
    KIOSK_SYNC_BIN="$<TARGET_FILE:kiosk-sync>"
    TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
    TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
  add_dependencies(load kiosk-sync tally-server tally-admin)
endif()
