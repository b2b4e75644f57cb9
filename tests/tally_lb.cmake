# Several tally-server instances behind one address (issue 14): three instances on one throwaway PostgreSQL 15
# cluster behind Debian's nginx, 20 kiosks uploading through the fault proxy while one instance is killed and
# restarted, and a dashboard session served by every instance (tests/lb/three-instances drives it; the kiosk
# side is tests/integration/tally_lb.c). Skips (77) without nginx or postgresql-15. RUN_SERIAL: a cluster,
# three servers and nginx on a 2-core machine.
if(TARGET sync_harness)
  add_executable(tally_lb_kiosks ${CMAKE_CURRENT_SOURCE_DIR}/integration/tally_lb.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fault/proxy.c)
  target_link_libraries(tally_lb_kiosks PRIVATE sync_harness Threads::Threads PkgConfig::CMOCKA)
  target_include_directories(tally_lb_kiosks PRIVATE ${KIOSK_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/fault)
  add_test(NAME tally_lb COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/lb/three-instances ${CMAKE_BINARY_DIR}
    $<TARGET_FILE:tally_lb_kiosks>)
  set_tests_properties(tally_lb PROPERTIES TIMEOUT 400 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
    LABELS "integration;pg;lb")
endif()
