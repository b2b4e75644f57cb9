# Kiosk integrity (issue #11): every answer a citizen gave reaches the tally. The tally's rule for a rating
# that gains its follow-up after it was stored.
if(TARGET tallylib)
  kiosk_add_test(test_ingest_followup SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ingest_followup.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib LABELS unit)
  target_include_directories(test_ingest_followup PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
endif()
