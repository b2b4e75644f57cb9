# The touch app: kui (screens, drawing, input; no storage), kiosk (the app), kiosk-report (day totals CLI),
# kiosk-shots (renders every screen to PNG for docs/screenshots). Included by kiosk/CMakeLists.txt.
add_library(kui STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ui.c ${CMAKE_CURRENT_LIST_DIR}/ui_layout.c ${CMAKE_CURRENT_LIST_DIR}/ui_draw.c
  ${CMAKE_CURRENT_LIST_DIR}/ui_shapes.c ${CMAKE_CURRENT_LIST_DIR}/ui_input.c ${CMAKE_CURRENT_LIST_DIR}/ui_scenes.c
  ${CMAKE_CURRENT_LIST_DIR}/strings.c)
target_include_directories(kui PUBLIC ${KIOSK_SOURCE_DIR})
target_link_libraries(kui PUBLIC proto PkgConfig::SDL2 PkgConfig::SDL2_TTF m)

add_executable(kiosk-shots ${CMAKE_CURRENT_LIST_DIR}/ui_shots.c)
target_link_libraries(kiosk-shots PRIVATE kui PkgConfig::SDL2_IMAGE)
target_compile_definitions(kiosk-shots PRIVATE KIOSK_FONT_DIR="${KIOSK_SOURCE_DIR}/fonts")

# `cmake --build BUILD --target screenshots` regenerates the README's pictures.
add_custom_target(screenshots
  COMMAND ${CMAKE_COMMAND} -E env SDL_VIDEODRIVER=dummy $<TARGET_FILE:kiosk-shots>
          --out ${KIOSK_SOURCE_DIR}/docs/screenshots --size 1280x800 --size 1080x1920
  DEPENDS kiosk-shots
  COMMENT "Rendering docs/screenshots/*.png")

# The app and the day-report CLI need the store (kstore).
add_executable(kiosk ${CMAKE_CURRENT_LIST_DIR}/app.c)
target_link_libraries(kiosk PRIVATE kui kstore PkgConfig::SODIUM)
target_compile_definitions(kiosk PRIVATE KIOSK_FONT_DIR="${KIOSK_FONT_DIR}") # top-level CMakeLists.txt

add_executable(kiosk-report ${CMAKE_CURRENT_LIST_DIR}/report.c)
target_link_libraries(kiosk-report PRIVATE kstore)
