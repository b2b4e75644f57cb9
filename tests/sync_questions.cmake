# The counter's later questions (issue #13) end to end: the real kiosk with injected touches, a real kiosk-sync
# run in the middle of the answering, the real tally-server; schema 1 and 2 batches to the same server. Sorted
# after sync.cmake (it needs sync_harness).
if(TARGET sync_harness)
  kiosk_add_test(sync_questions SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sync_questions.c
    LIBS sync_harness PkgConfig::SQLITE3 LABELS integration)
  target_compile_definitions(sync_questions PRIVATE KIOSK_BIN="$<TARGET_FILE:kiosk>")
  add_dependencies(sync_questions kiosk)
  set_tests_properties(sync_questions PROPERTIES TIMEOUT 180)
endif()
