# The central tally (sync/tally): ingest throughput against a bare SQLite insert, and tally latency over
# ten million ratings against a raw-row scan, each printing its figure and baseline from the same run.
if(TARGET tallylib)
  kiosk_add_bench(ingest SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ingest.c LIBS tallylib PkgConfig::CURL Threads::Threads)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/tally.c)
    kiosk_add_bench(tally SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tally.c LIBS tallylib)
  endif()
endif()
