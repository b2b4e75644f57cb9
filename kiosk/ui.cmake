# The touch app: kui (screens, drawing, input, strings; no storage), kiosk (the app), kiosk-report (day totals
# CLI), kiosk-shots (renders every screen to PNG for docs/screenshots), kiosk-voices (makes the language packs'
# voice files with espeak-ng). Included by kiosk/CMakeLists.txt.

# The Vietnamese strings are built into kui from assets/lang/vi/strings.txt (strings.c parses them).
set(KIOSK_LANG_DIR ${KIOSK_SOURCE_DIR}/assets/lang)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/strings_vi.c
  COMMAND ${CMAKE_COMMAND} -DIN=${KIOSK_LANG_DIR}/vi/strings.txt -DOUT=${CMAKE_CURRENT_BINARY_DIR}/strings_vi.c
          -DNAME=str_vi_builtin -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${KIOSK_LANG_DIR}/vi/strings.txt ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  COMMENT "Building the Vietnamese strings into the kiosk")

add_library(kui STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ui.c ${CMAKE_CURRENT_LIST_DIR}/ui_layout.c ${CMAKE_CURRENT_LIST_DIR}/ui_draw.c
  ${CMAKE_CURRENT_LIST_DIR}/ui_shapes.c ${CMAKE_CURRENT_LIST_DIR}/ui_input.c ${CMAKE_CURRENT_LIST_DIR}/ui_scenes.c
  ${CMAKE_CURRENT_LIST_DIR}/strings.c ${CMAKE_CURRENT_BINARY_DIR}/strings_vi.c)
target_include_directories(kui PUBLIC ${KIOSK_SOURCE_DIR})
target_link_libraries(kui PUBLIC proto ktext PkgConfig::SDL2 PkgConfig::SDL2_TTF m)

# Voice files: kiosk-voices reads every pack's strings.txt and makes each voice file it names with espeak-ng
# (the pack's lang.espeak voice) into build/lang/<code>/voice/, unless the pack ships a recording of that name
# in assets/lang/<code>/voice/ (which the kiosk prefers). Only files whose text changed are made again.
add_executable(kiosk-voices ${CMAKE_CURRENT_LIST_DIR}/voices.c)
target_link_libraries(kiosk-voices PRIVATE kui)
set(KIOSK_VOICE_DIR ${CMAKE_BINARY_DIR}/lang)
file(GLOB KIOSK_PACK_FILES CONFIGURE_DEPENDS ${KIOSK_LANG_DIR}/*/strings.txt)
find_program(ESPEAK_NG espeak-ng)
if(ESPEAK_NG)
  add_custom_command(OUTPUT ${KIOSK_VOICE_DIR}/voices.stamp
    COMMAND $<TARGET_FILE:kiosk-voices> --lang ${KIOSK_LANG_DIR} --out ${KIOSK_VOICE_DIR} --espeak ${ESPEAK_NG}
    COMMAND ${CMAKE_COMMAND} -E touch ${KIOSK_VOICE_DIR}/voices.stamp
    DEPENDS kiosk-voices ${KIOSK_PACK_FILES}
    COMMENT "Making the language packs' voice files with espeak-ng")
  add_custom_target(voices ALL DEPENDS ${KIOSK_VOICE_DIR}/voices.stamp)
else()
  message(WARNING "espeak-ng not found (scripts/bootstrap installs it): no voice files are made, and "
                  "test_strings reports every one as missing")
  add_custom_target(voices)
endif()

add_executable(kiosk-shots ${CMAKE_CURRENT_LIST_DIR}/ui_shots.c)
target_link_libraries(kiosk-shots PRIVATE kui PkgConfig::SDL2_IMAGE)
target_compile_definitions(kiosk-shots PRIVATE KIOSK_FONT_DIR="${KIOSK_SOURCE_DIR}/fonts"
  KIOSK_LANG_DIR="${KIOSK_LANG_DIR}")

# `cmake --build BUILD --target screenshots` regenerates the README's pictures.
add_custom_target(screenshots
  COMMAND ${CMAKE_COMMAND} -E env SDL_VIDEODRIVER=dummy $<TARGET_FILE:kiosk-shots>
          --out ${KIOSK_SOURCE_DIR}/docs/screenshots --size 1280x800 --size 1080x1920
  DEPENDS kiosk-shots
  COMMENT "Rendering docs/screenshots/*.png")

# The app and the day-report CLI need the store (kstore).
add_executable(kiosk ${CMAKE_CURRENT_LIST_DIR}/app.c ${CMAKE_CURRENT_LIST_DIR}/voice.c)
target_link_libraries(kiosk PRIVATE kui kstore PkgConfig::SODIUM)
target_compile_definitions(kiosk PRIVATE KIOSK_FONT_DIR="${KIOSK_FONT_DIR}" # top-level CMakeLists.txt
  KIOSK_LANG_DIR="${KIOSK_LANG_RUNTIME_DIR}" KIOSK_VOICE_DIR="${KIOSK_VOICE_RUNTIME_DIR}")
add_dependencies(kiosk voices)

add_executable(kiosk-report ${CMAKE_CURRENT_LIST_DIR}/report.c)
target_link_libraries(kiosk-report PRIVATE kstore)
