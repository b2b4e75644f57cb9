# Report files (issue 10): quarterly and yearly XLSX and PDF of a province-sized database (bench/province.h),
# time and peak memory per file in a fresh process, beside the JSON of the same model.
if(TARGET tallylib)
  kiosk_add_bench(report SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/report.c ${CMAKE_CURRENT_SOURCE_DIR}/province.c
    LIBS tallylib m)
endif()
