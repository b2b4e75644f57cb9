# The uploader (kiosk-sync): schedule and engine unit tests, then the end-to-end, multi-kiosk and fault tests
# against the real tally-server (sync/tally) and the real kiosk-sync binary.
kiosk_add_test(test_schedule SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schedule.c LIBS ksync LABELS unit)
kiosk_add_test(test_uploader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_uploader.c
  LIBS ksync PkgConfig::MHD Threads::Threads LABELS unit)
