#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy (the checks of the house style), plus the one rule
# clang-tidy cannot check: C++ file names are snake_case.
#
#   scripts/tidy.sh              C++ files changed against main (merge base), as CI runs it
#   scripts/tidy.sh --base REF   ... changed against REF
#   scripts/tidy.sh --all        every translation unit of the build
#   scripts/tidy.sh FILE...      the given files
#   scripts/tidy.sh --list       the checks the configuration enables
#
# A changed header is checked through the translation units that include it (findings in our own
# headers are reported; third-party headers never are, see HeaderFilterRegex). Needs the build's
# compile_commands.json (scripts/build.sh configures it). Exit 1 on any finding.
#
# Why CI checks changed files only: the whole tree (80 translation units) took 925 s of CPU,
# 29 min wall on the shared 2-core machine (load 8-12), measured 2026-12-01; about 12 s of CPU
# per file, most of it parsing OpenCV, ITK and Beast headers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
cd "$root"

if [[ "${1:-}" == "--list" ]]; then
  clang-tidy --list-checks
  exit 0
fi

# File names: snake_case, for every tracked C++ file (cheap, always the whole tree).
bad_names=$(git ls-files '*.cpp' '*.h' '*.hpp' '*.cpp.in' |
  awk -F/ '$NF !~ /^[a-z0-9_]+\.(cpp|h|hpp|cpp\.in)$/' || true)
if [[ -n "$bad_names" ]]; then
  echo "tidy: C++ file names must be snake_case:" >&2
  echo "$bad_names" >&2
  exit 1
fi

if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "tidy: no $build/compile_commands.json; run scripts/build.sh first" >&2
  exit 1
fi
# Translation units of the build that are tracked sources (not generated files).
mapfile -t units < <(python3 -c '
import json, os, sys
root = sys.argv[2]
for entry in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if path.startswith(root + "/") and "/build" not in path[len(root):]:
        print(os.path.relpath(path, root))
' "$build/compile_commands.json" "$root" | sort -u)

files=()
case "${1:-}" in
  --all)
    files=("${units[@]}")
    ;;
  "" | --base)
    # The merge base with main (or origin/main in a fresh clone); on main itself, the last
    # commit's parent, so that CI on main checks what the last merge brought.
    base="${2:-}"
    if [[ -z "$base" ]]; then
      for ref in main origin/main; do
        git rev-parse -q --verify "$ref^{commit}" >/dev/null && { base=$ref; break; }
      done
    fi
    merge_base=$(git merge-base HEAD "${base:-HEAD}")
    if [[ "$merge_base" == "$(git rev-parse HEAD)" ]]; then
      merge_base=$(git rev-parse -q --verify HEAD^ || true)
      if [[ -z "$merge_base" ]]; then
        echo "tidy: no parent commit to compare with; use --all" >&2
        exit 2
      fi
    fi
    echo "tidy: files changed since $(git rev-parse --short "$merge_base")"
    mapfile -t changed < <(git diff --name-only --diff-filter=d "$merge_base" -- \
      '*.cpp' '*.h' '*.hpp'; git ls-files --others --exclude-standard -- '*.cpp' '*.h')
    for f in "${changed[@]}"; do
      if [[ "$f" == *.cpp ]]; then
        printf '%s\n' "${units[@]}" | grep -qxF "$f" && files+=("$f")
      else
        # Units that include the header by its file name (a superset: same-named headers match).
        name=$(basename "$f")
        for u in "${units[@]}"; do
          grep -qE "#include [\"<]([^\">]*/)?${name//./\\.}[\">]" "$u" && files+=("$u")
        done
      fi
    done
    ;;
  -*)
    sed -n '2,12p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
  *)
    files=("$@")
    ;;
esac
if [[ ${#files[@]} -gt 0 ]]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
fi
# Changed-file runs skip the files listed in scripts/tidy-pending.txt: files with known findings
# that their owners have not fixed yet (each line says whose). --all and explicit files do not.
if [[ "${1:-}" == "" || "${1:-}" == "--base" ]] && [[ ${#files[@]} -gt 0 ]]; then
  mapfile -t pending < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$root/scripts/tidy-pending.txt" |
    grep -v '^$' || true)
  kept=()
  is_pending() {  # an exact path, or a folder given with its trailing /
    local p
    for p in "${pending[@]+"${pending[@]}"}"; do
      [[ "$1" == "$p" || ( "$p" == */ && "$1" == "$p"* ) ]] && return 0
    done
    return 1
  }
  for f in "${files[@]}"; do
    if is_pending "$f"; then
      echo "tidy: skipped (known findings, scripts/tidy-pending.txt): $f"
    else
      kept+=("$f")
    fi
  done
  files=("${kept[@]+"${kept[@]}"}")
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "tidy: no C++ translation unit to check"
  exit 0
fi

# One clang-tidy per file, in parallel; a file's output is printed only when it has findings.
lint_one() {
  local out
  if ! out=$(clang-tidy -p "$TIDY_BUILD" --quiet "$1" 2>&1); then
    printf '%s\n' "$out"
    return 1
  fi
}
export -f lint_one
export TIDY_BUILD="$build"
start=$(date +%s)
status=0
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$(nproc)" bash -c 'lint_one "$1"' _ || status=1
echo "tidy: ${#files[@]} files in $(( $(date +%s) - start )) s: $([[ $status -eq 0 ]] && echo clean || echo FINDINGS)"
exit $status
