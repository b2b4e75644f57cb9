# The central tally (sync/tally): integration tests against the real tally-server and tally-admin binaries,
# each test binary starting its own server on a free loopback port.
if(TARGET tally-server)
  set(_th ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_harness.c)
  foreach(_t tally_api tally_admin_cli tally_hostile tally_memory)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${_t}.c)
      kiosk_add_test(${_t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/${_t}.c ${_th}
        LIBS proto PkgConfig::CURL PkgConfig::SQLITE3 PkgConfig::JANSSON Threads::Threads LABELS integration)
      target_compile_definitions(${_t} PRIVATE TALLY_SERVER_BIN="$<TARGET_FILE:tally-server>"
        TALLY_ADMIN_BIN="$<TARGET_FILE:tally-admin>")
      add_dependencies(${_t} tally-server tally-admin)
      set_tests_properties(${_t} PROPERTIES TIMEOUT 120)
    endif()
  endforeach()
endif()
# Text the server did not write: the tally query-string parser, form decoding, UTF-8 cleaning, log escaping,
# the unit CSV parser (sync/tally/tally_query.h, tally_form.h, tally_text.h, tally_db.h).
if(TARGET tallylib)
  kiosk_add_test(test_tally_text SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tally_text.c LIBS tallylib LABELS unit)
endif()
# One read transaction per tally: a writer thread commits two-rating batches while tallies run.
if(TARGET tallylib)
  kiosk_add_test(test_tally_snapshot SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tally_snapshot.c
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS tallylib Threads::Threads LABELS unit)
endif()
