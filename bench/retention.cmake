# Retention (keep_days): five years of a busy counter's store before and after the prune kiosk-sync runs —
# open time, the supervisor screen's query, file size — with after/before ratios (bench/retention.c).
kiosk_add_bench(retention SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/retention.c LIBS kstore)
