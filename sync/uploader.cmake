# The uploader: the engine and the schedule as library `ksync` (tests link it). The kiosk-sync program that
# wires it to the kiosk's store lives with the kiosk (kiosk/sync.cmake).
add_library(ksync STATIC ${CMAKE_CURRENT_LIST_DIR}/uploader.c ${CMAKE_CURRENT_LIST_DIR}/schedule.c)
target_include_directories(ksync PUBLIC ${KIOSK_SOURCE_DIR})
target_link_libraries(ksync PUBLIC proto PkgConfig::CURL)
