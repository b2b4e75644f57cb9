# The tally integration suites on PostgreSQL too (issue 14): the dashboard in a real browser and the report
# files, each run as it runs on SQLite but with the tally in a throwaway PostgreSQL 15 cluster
# (tests/pg/pg-cluster) that the test starts and stops. Skipped (77) without postgresql-15, like the other pg
# tests; RUN_SERIAL like them: the cluster is one more server on a 2-core machine. The same figures on both
# backends: tally_pg_server (tests/pg.cmake) compares what the two make of the same uploads.
if(TARGET tally-server AND NOT SANITIZE)
  # Normal pass only: about 2 minutes alone on the machine (RUN_SERIAL) would come on top of the ASan pass's
  # dashboard_browser; under ASan the server's PostgreSQL paths run in tally_pg_server, tally_files_pg and
  # test_tally_backends.
  add_test(NAME dashboard_browser_pg COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/browser/dashboard_test.py
    $<TARGET_FILE:tally-server> $<TARGET_FILE:tally-admin> ${KIOSK_SOURCE_DIR}/scripts/tally-seed ${KIOSK_SOURCE_DIR}
    --backend pg
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/browser)
  set_tests_properties(dashboard_browser_pg PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
    LABELS "integration;browser;pg")
endif()
if(TARGET tally-server)
  add_test(NAME tally_files_pg COMMAND $<TARGET_FILE:tally_files> --pg)
  set_tests_properties(tally_files_pg PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
    LABELS "integration;pg"
    ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()
