#!/usr/bin/env bash
# The C++ compiler launcher of the fuzz build (scripts/fuzz.sh sets it). Debian's ITK 5.2 headers
# accept GCC only (itk_compiler_detection.h stops clang with "Unsupported compiler"), so a
# translation unit that sees ITK (its command line names the ITK include directory) is compiled by
# g++ without the fuzzer's instrumentation and sanitizer flags; every other one by clang, as
# configured. Both compilers use libstdc++, so the objects link together; the ITK code is then only
# unchecked by ASan, which the HTTP and intake targets do not reach anyway. Uses ccache when present.
set -euo pipefail
compiler="$1"
shift
if [[ " $* " == *"/ITK-"* ]]; then
  args=()
  for a in "$@"; do
    case "$a" in
      -fsanitize=* | -fno-omit-frame-pointer) ;;
      *) args+=("$a") ;;
    esac
  done
  set -- "${args[@]}"
  compiler=g++
fi
if command -v ccache >/dev/null 2>&1; then
  exec ccache "$compiler" "$@"
fi
exec "$compiler" "$@"
