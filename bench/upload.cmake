# The uploader: time for kiosk-sync to upload a 30,000-rating backlog beside the tally-server's bare ingest
# of the same batches (bench/upload.c). Uses the real binaries through the sync test harness.
if(TARGET tally-server AND TARGET tally-admin)
  kiosk_add_bench(upload SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/upload.c
    ${KIOSK_SOURCE_DIR}/tests/integration/sync_harness.c
    LIBS kstore proto PkgConfig::CURL PkgConfig::JANSSON)
  target_include_directories(upload PRIVATE ${KIOSK_SOURCE_DIR}/tests/integration)
  target_compile_definitions(upload PRIVATE
    KIOSK_SYNC_BIN="$<TARGET_FILE:kiosk-sync>"
    TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
    TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
  add_dependencies(upload kiosk-sync tally-server tally-admin)
endif()
