#!/usr/bin/env bash
# Installs what skintrack needs to build and test, from Debian 12 packages only.
# Idempotent: packages already installed are not touched, and apt is not called at all when
# nothing is missing. Needs root (apt-get); as another user it prints the command to run.
set -euo pipefail

# Build and test dependencies. libopencv-dev is the package that ships OpenCVConfig.cmake;
# --no-install-recommends keeps the Java bindings and sample data out.
PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format clang-tidy
  libopencv-dev
  # libjpeg headers: the service checks JPEG scan data with libjpeg-turbo (the one OpenCV links).
  libjpeg62-turbo-dev
  # zlib headers: PNG uploads get their chunk CRCs and IDAT stream checked without a full decode.
  zlib1g-dev
  # exiftool: the lossless-intake test confirms that no metadata survives in a stored photo.
  libimage-exiftool-perl
  libinsighttoolkit5-dev
  libeigen3-dev
  libboost-dev libboost-system-dev
  libsqlite3-dev libsqlitecpp-dev
  libssl-dev
  libdcmtk-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest
  chromium
  orthanc dicom3tools
  # The PostgreSQL repository links libpq; its tests start a throw-away postgresql-15 cluster
  # (tests/support/pg_cluster.sh). The README's main command needs no PostgreSQL server.
  libpq-dev postgresql-15
)
# libdcmtk-dev writes DICOM and sends it with C-STORE (src/dicom); the DICOM tests run a real
# Orthanc PACS (orthanc) and check the files with dciodvfy (dicom3tools).
# The dashboard test runs Node.js (playwright-core from the npm registry drives Chromium). Use the
# machine's Node when there is one, otherwise Debian's (18; playwright-core 1.58 needs >= 18).
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
# Optional extras, only with SKINTRACK_SETUP_EXTRAS=1 (benchmarks compare against elastix).
if [[ "${SKINTRACK_SETUP_EXTRAS:-0}" == "1" ]]; then
  PACKAGES+=(elastix)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm packages of the tests, pinned by each folder's package-lock.json: tests/dashboard
# (playwright-core, the browser test), tests/openapi (@redocly/cli and ajv, the OpenAPI checks) and
# tests/report/fhir (the FHIR R4 validators).
# `npm ci` only where the installed tree does not match the lock file.
install_npm_packages() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "$root/tests/dashboard" "$root/tests/openapi" "$root/tests/report/fhir"; do
    # Installed when every package of the lock file is in npm's record of the installed tree at
    # its version, except optional ones for other systems (fsevents on macOS) npm leaves out.
    if [[ -f "$dir/node_modules/.package-lock.json" ]] && node -e '
         const read = (f) => JSON.parse(require("fs").readFileSync(f, "utf8")).packages;
         const [want, have] = [read(process.argv[1]), read(process.argv[2])];
         process.exit(Object.entries(want).every(([k, v]) => !k || v.optional ||
                      (have[k] && have[k].version === v.version)) ? 0 : 1);' \
         "$dir/package-lock.json" "$dir/node_modules/.package-lock.json"; then
      echo "setup: npm packages of ${dir#"$root"/} present"
      continue
    fi
    echo "setup: npm ci in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
}

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all dependencies present"
  install_npm_packages
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "setup: not root. Run this first, then retry:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (orthanc, postgresql) must not start it here: the tests start their
# own instance.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages
echo "setup: done"
