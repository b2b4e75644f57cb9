# The dashboard (sync/tally/tally_report, tally_web, tally_html, tally_account): the report model against the
# tally query, escaping, sessions, CSRF, lockout and scope without a socket; then the real tally-server in a real
# browser (Debian's chromium + chromium-driver through python3-selenium).
if(TARGET tallylib)
  kiosk_add_test(test_dashboard SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dashboard.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib LABELS unit)
  set_tests_properties(test_dashboard PROPERTIES TIMEOUT 300)
endif()
