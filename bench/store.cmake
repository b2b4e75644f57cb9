# Durable rating insert through the store vs a bare sqlite3 insert (bench/store_insert.c).
kiosk_add_bench(store_insert SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/store_insert.c LIBS kstore)
