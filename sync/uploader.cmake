# The uploader: the engine and the schedule as library `ksync` (tests link it), and the kiosk-sync program.
add_library(ksync STATIC ${CMAKE_CURRENT_LIST_DIR}/uploader.c ${CMAKE_CURRENT_LIST_DIR}/schedule.c)
target_include_directories(ksync PUBLIC ${KIOSK_SOURCE_DIR})
target_link_libraries(ksync PUBLIC kstore proto PkgConfig::CURL)

add_executable(kiosk-sync ${CMAKE_CURRENT_LIST_DIR}/kiosk_sync.c)
target_link_libraries(kiosk-sync PRIVATE ksync)
