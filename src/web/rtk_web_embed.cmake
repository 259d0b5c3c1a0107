# SPDX-License-Identifier: MIT
# rtk_web_embed.cmake - writes OUT, a C source that holds every file of WEB_DIR as a byte array
# and the rtk_web_assets table (web/rtk_web.h). Run as `cmake -DWEB_DIR=… -DOUT=… -P this`;
# plain CMake, so the build needs no xxd.
if(NOT WEB_DIR OR NOT OUT)
  message(FATAL_ERROR "rtk_web_embed.cmake: set WEB_DIR and OUT")
endif()

file(GLOB names RELATIVE ${WEB_DIR} ${WEB_DIR}/*)
list(SORT names)
set(arrays "")
set(table "")
set(count 0)
# CMake regexes have no {n}: spell out the 16 items of one line.
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 row16)
foreach(name IN LISTS names)
  if(IS_DIRECTORY ${WEB_DIR}/${name})
    continue()
  endif()
  # Editor leftovers and hidden files are not part of the site.
  if(name MATCHES "^\\." OR name MATCHES "~$")
    continue()
  endif()
  # Names go into C string literals and URLs as they are: keep them plain.
  if(NOT name MATCHES "^[A-Za-z0-9][A-Za-z0-9._-]*$")
    message(FATAL_ERROR "web/${name}: use only letters, digits, '.', '_' and '-' in names")
  endif()
  file(READ ${WEB_DIR}/${name} hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  file(SHA256 ${WEB_DIR}/${name} sum)
  string(SUBSTRING "${sum}" 0 16 etag)
  # Two hex digits become one "0x..," item, 16 to a line. A NUL follows the content, so an
  # empty file still makes a valid array and text can be read as a C string if need be.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(${row16})" "\\1\n    " bytes "${bytes}")
  string(APPEND arrays "/* web/${name} */\nstatic const unsigned char asset_${count}[] = {\n"
         "    ${bytes}0x00};\n\n")
  string(APPEND table "    {\"${name}\", asset_${count}, ${len}, \"\\\"${etag}\\\"\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "rtk_web_embed.cmake: no files in ${WEB_DIR}")
endif()

# string(APPEND) keeps the ';' of the C code (a list-valued set() would eat them).
set(text "/* SPDX-License-Identifier: MIT */\n")
string(APPEND text
       "/* rtk_web_assets.c - generated from web/ by src/web/rtk_web_embed.cmake: do not edit. */\n")
string(APPEND text "#include \"web/rtk_web.h\"\n\n${arrays}")
string(APPEND text "const rtk_web_asset rtk_web_assets[] = {\n${table}};\n\n")
string(APPEND text "const size_t rtk_web_assets_count = ${count};\n")
file(WRITE ${OUT} "${text}")
