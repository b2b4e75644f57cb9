# The kiosk's touch app (kiosk/ui*.c, kiosk/app.c): state machine logic, golden images, end to end.
kiosk_add_test(test_ui_logic SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_logic.c LIBS kui m LABELS unit)
kiosk_add_test(test_ui_golden SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_golden.c
  LIBS kui PkgConfig::SDL2_IMAGE LABELS ui)
# scripts/test --update-golden exports KIOSK_UPDATE_GOLDEN=1; ctest passes its environment on to the test.
kiosk_add_test(test_ui_e2e SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_ui_e2e.c
  LIBS kstore PkgConfig::SODIUM LABELS integration)
add_dependencies(test_ui_e2e kiosk kiosk-report)
