# The libFuzzer targets (clang only): configured instead of the rest of the tree when -DFUZZ=ON, e.g.
#   cmake -S . -B build-fuzz -DFUZZ=ON -DCMAKE_C_COMPILER=clang
# Everything here is built with ASan + UBSan. ctest runs each target as a short smoke over its seed corpus
# (tests/fuzz/corpus/NAME, crash regressions included) for FUZZ_SMOKE_S seconds; scripts/fuzz runs them long.
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FUZZ=ON needs clang (libFuzzer): -DCMAKE_C_COMPILER=clang")
endif()
set(FUZZ_SMOKE_S 20 CACHE STRING "seconds each fuzz target runs under ctest")
set(_fz_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
set(_fz_dir ${CMAKE_CURRENT_LIST_DIR})

# What the targets exercise, compiled with the sanitizers and libFuzzer's coverage. tally_db.c is the storage
# boundary and dispatches to the PostgreSQL backend (tally_pg.c), so libpq comes along (the targets use SQLite).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
add_library(fuzzlib STATIC
  ${KIOSK_SOURCE_DIR}/sync/protocol.c ${KIOSK_SOURCE_DIR}/sync/ptime.c ${KIOSK_SOURCE_DIR}/sync/uuid.c
  ${KIOSK_SOURCE_DIR}/kiosk/config.c ${KIOSK_SOURCE_DIR}/kiosk/text.c
  ${KIOSK_SOURCE_DIR}/sync/tally/tally_db.c ${KIOSK_SOURCE_DIR}/sync/tally/tally_query.c
  ${KIOSK_SOURCE_DIR}/sync/tally/tally_text.c ${KIOSK_SOURCE_DIR}/sync/tally/tally_form.c
  ${KIOSK_SOURCE_DIR}/sync/tally/tally_pg.c)
target_include_directories(fuzzlib PUBLIC ${KIOSK_SOURCE_DIR})
target_compile_options(fuzzlib PRIVATE ${_fz_flags})
target_link_libraries(fuzzlib PUBLIC PkgConfig::JANSSON PkgConfig::INIH PkgConfig::SQLITE3 PkgConfig::SODIUM
  PkgConfig::LIBPQ m)

file(GLOB _fz_sources CONFIGURE_DEPENDS ${_fz_dir}/fuzz_*.c)
foreach(_src ${_fz_sources})
  get_filename_component(_name ${_src} NAME_WE)
  add_executable(${_name} ${_src})
  target_compile_options(${_name} PRIVATE ${_fz_flags})
  target_link_options(${_name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${_name} PRIVATE fuzzlib)
  set_target_properties(${_name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  # New inputs go to a scratch corpus in the build tree; the checked-in seeds are only read.
  set(_work ${CMAKE_BINARY_DIR}/fuzz/corpus/${_name})
  add_test(NAME ${_name}_smoke
    COMMAND sh -c "mkdir -p '${_work}' '${CMAKE_BINARY_DIR}/fuzz/artifacts' && exec '$<TARGET_FILE:${_name}>' \
      -max_total_time=${FUZZ_SMOKE_S} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix='${CMAKE_BINARY_DIR}/fuzz/artifacts/${_name}-' '${_work}' '${_fz_dir}/corpus/${_name}'")
  set_tests_properties(${_name}_smoke PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()
