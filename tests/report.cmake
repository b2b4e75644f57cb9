# Report files (issue 10): XLSX, PDF, CSV and JSON of the report model, made by `tally-admin report` and by
# tally_file_make() (the dashboard's downloads), read back with python3-openpyxl and pdftotext and compared
# with GET /api/v1/tally on a real tally-server; and the renderers' own rules on a hand-made model.
if(TARGET tally-server)
  kiosk_add_test(tally_files SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_files.c
    ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_harness.c
    LIBS tallylib PkgConfig::CURL Threads::Threads LABELS integration)
  target_compile_definitions(tally_files PRIVATE TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
    TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
  add_dependencies(tally_files tally-server tally-admin)
  set_tests_properties(tally_files PROPERTIES TIMEOUT 300)
  set_property(TEST tally_files APPEND PROPERTY ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()
if(TARGET tallylib)
  kiosk_add_test(test_report_files SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_report_files.c LIBS tallylib)
  set_property(TEST test_report_files APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()
