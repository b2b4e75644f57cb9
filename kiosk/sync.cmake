# kiosk-sync: the program that ties the kiosk's store and config to the upload engine (sync/, library ksync).
add_executable(kiosk-sync ${CMAKE_CURRENT_LIST_DIR}/kiosk_sync.c)
target_link_libraries(kiosk-sync PRIVATE ksync kstore)
