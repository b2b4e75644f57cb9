# The tally on PostgreSQL (issue 14): the tally database's functions run against SQLite and a throwaway
# PostgreSQL 15 cluster (tests/pg/pg-cluster) and must answer alike. RUN_SERIAL: the cluster is one more server
# on a 2-core machine.
if(TARGET tallylib)
  kiosk_add_test(test_tally_backends SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tally_backends.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib LABELS "unit;pg")
  set_tests_properties(test_tally_backends PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE)
endif()
# The whole tally-server and tally-admin on both backends: the same seeded uploads through the real API give
# byte-identical tallies, reports and report models (tests/pg/server-both-backends).
if(TARGET tally-server)
  add_test(NAME tally_pg_server COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/pg/server-both-backends ${CMAKE_BINARY_DIR})
  set_tests_properties(tally_pg_server PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
    LABELS "integration;pg")
  # It makes PDFs with tally-admin report: fontconfig's per-thread font map (lsan.supp).
  set_property(TEST tally_pg_server APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()
