# The dashboard (sync/tally/tally_web + tally_report + tally_html): page server time over a province-sized year,
# beside the equivalent /api/v1/tally JSON call in the same run.
if(TARGET tallylib)
  kiosk_add_bench(dashboard SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dashboard.c ${CMAKE_CURRENT_SOURCE_DIR}/province.c
    LIBS tallylib)
endif()
