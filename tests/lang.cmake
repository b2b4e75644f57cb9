# Language packs (assets/lang/<code>/): every shipped pack complete, strings and voice files; fallback of a
# partial pack; every character in the font; kiosk-voices (needs the voice files the build makes).
kiosk_add_test(test_strings SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui/test_strings.c LIBS kui LABELS unit)
add_dependencies(test_strings voices kiosk-voices)
target_compile_definitions(test_strings PRIVATE ESPEAK_BIN="${ESPEAK_NG}")
