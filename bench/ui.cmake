# The kiosk's screens: time to draw each one at 1920x1080 (software renderer) against clear+present, and
# the real app's cold start to first frame and peak RSS (bench/ui_frame.c).
kiosk_add_bench(ui_frame SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ui_frame.c LIBS kui)
add_dependencies(ui_frame kiosk)
