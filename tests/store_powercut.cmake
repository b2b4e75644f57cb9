# The store under simulated power cuts (a test VFS keeps unsynced writes in memory and loses or tears them at
# each cut): thousands of cuts during adds, follow-up saves and acknowledgements, each checked. The count is
# KIOSK_POWERCUT_CUTS (default 2000); scripts/powercut runs a long one.
kiosk_add_test(powercut_store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fault/powercut_store.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fault/powercut_vfs.c LIBS kstore LABELS fault)
target_include_directories(powercut_store PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fault)
set_tests_properties(powercut_store PROPERTIES TIMEOUT 600)
