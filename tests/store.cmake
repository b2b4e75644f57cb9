# The local rating store and kiosk.ini (kiosk/store.h, kiosk/config.h), and the store's crash test.
kiosk_add_test(test_store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store.c
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS kstore Threads::Threads LABELS unit)
# test_store also runs the real kiosk-sim against a store.
add_dependencies(test_store kiosk-sim)
target_compile_definitions(test_store PRIVATE KIOSK_SIM_BIN="$<TARGET_FILE:kiosk-sim>")
kiosk_add_test(test_config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/testutil.c LIBS kstore LABELS unit)
kiosk_add_test(crash_store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fault/crash_store.c LIBS kstore LABELS fault)
