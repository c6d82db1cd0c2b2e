# Writes a C++ source that holds files as byte arrays (the dashboard's HTML, CSS and JS), so the
# binary serves them without a web root on disk. Run as a build step:
#   cmake -DOUTPUT=out.cpp -DBASE_DIR=dir -DFILES="a.html;b.js" -P EmbedFiles.cmake
# The generated file defines skintrack::service::kDashboardAssets (see dashboard.h).
cmake_minimum_required(VERSION 3.16)
set(body "// Generated from web/ by cmake/EmbedFiles.cmake at build time: do not edit.\n")
string(APPEND body "#include \"skintrack/service/dashboard.h\"\n\nnamespace skintrack::service {\nnamespace {\n")
set(table "")
set(index 0)
foreach(name IN LISTS FILES)
  file(READ "${BASE_DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "const unsigned char kFile${index}[] = {\n${bytes}0x00};\n")
  string(APPEND table "    {\"${name}\", kFile${index}, ${size}},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nconst EmbeddedFile kDashboardAssets[] = {\n${table}};\n")
string(APPEND body "const std::size_t kDashboardAssetCount = ${index};\n\n}  // namespace skintrack::service\n")
# Only touch the output when it changes, so an unchanged web/ does not recompile anything.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL body)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${body}")
