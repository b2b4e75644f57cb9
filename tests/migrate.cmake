# `tally-admin migrate` (issue 14): a SQLite tally made by the real tools moved into a throwaway PostgreSQL 15
# cluster (tests/pg/pg-cluster), verified, re-run, finished after an interruption; the least-privilege roles of
# docs/operations.md (packaging/tally/postgresql/*.sql). RUN_SERIAL: the cluster is one more server on 2 cores.
if(TARGET tally-server AND TARGET tallylib)
  kiosk_add_test(tally_migrate SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_migrate.c
    ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_harness.c
    LIBS tallylib PkgConfig::CURL PkgConfig::SQLITE3 PkgConfig::JANSSON Threads::Threads LABELS "integration;pg")
  target_compile_definitions(tally_migrate PRIVATE TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
    TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
  add_dependencies(tally_migrate tally-server tally-admin)
  set_tests_properties(tally_migrate PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()
