# The kiosk's touch app (kiosk/ui*.c, kiosk/app.c): state machine logic, golden images, end to end.
kiosk_add_test(test_ui_logic SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_logic.c LIBS kui m LABELS unit)
kiosk_add_test(test_ui_golden SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_golden.c
  LIBS kui PkgConfig::SDL2_IMAGE LABELS ui)
# scripts/test --update-golden exports KIOSK_UPDATE_GOLDEN=1; ctest passes its environment on to the test.
# The end-to-end tests run the real binaries and wait on the app's real timers, so they are split into
# ctest entries by name pattern (each well under a minute, and they can run in parallel).
add_executable(test_ui_e2e ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_e2e.c)
target_link_libraries(test_ui_e2e PRIVATE kstore PkgConfig::SODIUM PkgConfig::CMOCKA)
target_include_directories(test_ui_e2e PRIVATE ${KIOSK_SOURCE_DIR})
target_compile_definitions(test_ui_e2e PRIVATE
  TEST_SOURCE_DIR="${KIOSK_SOURCE_DIR}" TEST_BINARY_DIR="${CMAKE_BINARY_DIR}")
add_dependencies(test_ui_e2e kiosk kiosk-report)
foreach(_part "flow:test_touches_reach_the_store" "hold:test_followup_screen*" "storage:test_storage_failure*"
              "pin:test_pin_lock*" "misc:test_failed_expect*" "voice:test_voice*")
  string(REPLACE ":" ";" _kv "${_part}")
  list(GET _kv 0 _name)
  list(GET _kv 1 _filter)
  add_test(NAME test_ui_e2e_${_name} COMMAND test_ui_e2e "${_filter}")
  set_tests_properties(test_ui_e2e_${_name} PROPERTIES ENVIRONMENT "SDL_VIDEODRIVER=dummy;SDL_AUDIODRIVER=dummy"
    LABELS integration)
endforeach()
add_test(NAME test_ui_e2e_hash_pin COMMAND test_ui_e2e "test_hash_pin*")
set_tests_properties(test_ui_e2e_hash_pin PROPERTIES LABELS integration)
