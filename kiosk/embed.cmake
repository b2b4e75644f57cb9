# embed.cmake — writes a C file holding a text file's bytes as a NUL-terminated array, so the program carries
# its Vietnamese strings (assets/lang/vi/strings.txt) and never runs without them.
#   cmake -DIN=file.txt -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){24})" "\\1\n  " bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by kiosk/embed.cmake at build time; do not edit. */\n"
                        "unsigned char ${NAME}[] = {\n  ${bytes}0};\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
