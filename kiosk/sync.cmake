# kiosk-sync: the program that ties the kiosk's store and config to the upload engine (sync/, library ksync).
# Its runs (the store as the engine's queue, status, retention, --once, the daemon) are library `ksyncagent`,
# which tests drive with a fake clock.
add_library(ksyncagent STATIC ${CMAKE_CURRENT_LIST_DIR}/sync_agent.c)
target_include_directories(ksyncagent PUBLIC ${KIOSK_SOURCE_DIR})
target_link_libraries(ksyncagent PUBLIC ksync kstore)

add_executable(kiosk-sync ${CMAKE_CURRENT_LIST_DIR}/kiosk_sync.c)
target_link_libraries(kiosk-sync PRIVATE ksyncagent)
