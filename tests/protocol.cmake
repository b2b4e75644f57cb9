# The shared vocabulary and JSON codec (sync/protocol.h, ptime.h, uuid.h).
kiosk_add_test(test_protocol SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_protocol.c LIBS proto LABELS unit)
kiosk_add_test(test_ptime SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ptime.c LIBS proto LABELS unit)
