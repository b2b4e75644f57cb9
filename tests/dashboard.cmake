# The dashboard (sync/tally/tally_report, tally_web, tally_html, tally_account): the report model against the
# tally query, escaping, sessions, CSRF, lockout and scope without a socket; then the real tally-server in a real
# browser (Debian's chromium + chromium-driver through python3-selenium).
if(TARGET tallylib)
  kiosk_add_test(test_dashboard SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dashboard.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib LABELS unit)
  set_tests_properties(test_dashboard PROPERTIES TIMEOUT 300)
  # It follows every download link of the pages, PDFs included: fontconfig's per-thread font map (lsan.supp).
  set_property(TEST test_dashboard APPEND PROPERTY ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()

# The acceptance tests in a real browser, and the README's pictures (cmake --build build --target
# dashboard-screenshots). Debian's python3 (not a pyenv one on PATH) has python3-selenium.
if(TARGET tally-server)
  set(_browser ${CMAKE_CURRENT_SOURCE_DIR}/browser)
  add_test(NAME dashboard_browser COMMAND /usr/bin/python3 ${_browser}/dashboard_test.py
    $<TARGET_FILE:tally-server> $<TARGET_FILE:tally-admin> ${KIOSK_SOURCE_DIR}/scripts/tally-seed ${KIOSK_SOURCE_DIR}
    WORKING_DIRECTORY ${_browser})
  set_tests_properties(dashboard_browser PROPERTIES TIMEOUT 600 LABELS "integration;browser")
  add_custom_target(dashboard-screenshots
    COMMAND /usr/bin/python3 ${_browser}/screenshots.py $<TARGET_FILE:tally-server> $<TARGET_FILE:tally-admin>
      ${KIOSK_SOURCE_DIR}/scripts/tally-seed ${KIOSK_SOURCE_DIR} ${KIOSK_SOURCE_DIR}/docs/dashboard
    WORKING_DIRECTORY ${_browser} DEPENDS tally-server tally-admin
    COMMENT "Dashboard screenshots into docs/dashboard/" VERBATIM)
endif()
