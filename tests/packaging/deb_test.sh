#!/usr/bin/env bash
# The Debian package and `cmake --install` (issue 16): builds the .deb with cpack, unpacks it into
# an empty root (dpkg -x), runs the unpacked binary, and checks Depends, the conffile, the unit
# (systemd-analyze verify when systemd-analyze exists), the sysusers.d file and the docs.
# Usage: deb_test.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build="$1" source="$2" version="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- cpack -G DEB
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb="$work/pkg/skintrack_${version}_amd64.deb"
[[ -f "$deb" ]] || fail "no $deb"

# Depends names the package of every shared library the binary links directly.
depends="$(dpkg-deb -f "$deb" Depends)"
echo "Depends: $depends"
while read -r lib; do
  # (no early exit in these pipelines: with pipefail, the writer's SIGPIPE would fail them)
  path="$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {print $NF; found = 1}')"
  [[ -n "$path" ]] || fail "cannot find $lib"
  pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n '1s/:.*//p')" ||
    pkg="$(dpkg -S "$path" | sed -n '1s/:.*//p')"
  [[ -n "$pkg" ]] || fail "no package owns $lib"
  tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/ .*//' | grep -qxF "$pkg" ||
    fail "Depends lacks $pkg (for $lib)"
done < <(readelf -d "$build/skintrack" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

# --- the unpacked package in an empty root
root="$work/root"
dpkg -x "$deb" "$root"
for f in usr/bin/skintrack etc/skintrack/skintrack.conf usr/lib/systemd/system/skintrack.service \
         usr/lib/sysusers.d/skintrack.conf usr/share/doc/skintrack/README.md \
         usr/share/doc/skintrack/service.md usr/share/doc/skintrack/openapi.json; do
  [[ -f "$root/$f" ]] || fail "the package lacks /$f"
done
# The package ships no libraries: the system's (the Depends above) are the library path.
out="$(LD_LIBRARY_PATH="$root/usr/lib" "$root/usr/bin/skintrack" --version)"
[[ "$out" == "skintrack $version "* ]] || fail "installed skintrack --version said: $out"

dpkg-deb -e "$deb" "$work/control"
[[ "$(cat "$work/control/conffiles")" == "/etc/skintrack/skintrack.conf" ]] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
sh -n "$work/control/postinst" || fail "postinst does not parse"
grep -q "systemd-sysusers /usr/lib/sysusers.d/skintrack.conf" "$work/control/postinst" ||
  fail "postinst does not create the user"
grep -q '^u skintrack ' "$root/usr/lib/sysusers.d/skintrack.conf" || fail "sysusers.d: no user"

unit="$root/usr/lib/systemd/system/skintrack.service"
for line in "User=skintrack" "StateDirectory=skintrack" "ProtectSystem=strict" "ProtectHome=yes" \
            "NoNewPrivileges=yes" "PrivateTmp=yes" "PrivateDevices=yes" "CapabilityBoundingSet=" \
            "ReadWritePaths=/var/lib/skintrack" \
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
            "ExecStart=/usr/bin/skintrack serve --config /etc/skintrack/skintrack.conf --data-dir /var/lib/skintrack"; do
  grep -qxF "$line" "$unit" || fail "unit lacks '$line'"
done

# Every commented default of the shipped configuration is a valid setting of `serve`.
sed -n 's/^# \([a-z0-9-]* = .*\)$/\1/p' "$root/etc/skintrack/skintrack.conf" >"$work/all.conf"
[[ "$(wc -l <"$work/all.conf")" -ge 15 ]] || fail "too few defaults in skintrack.conf"
"$root/usr/bin/skintrack" serve --config "$work/all.conf" --check-config >"$work/check.out" ||
  fail "the shipped defaults do not load"
grep -q "^port = 8080$" "$work/check.out" || fail "check-config: $(cat "$work/check.out")"

if command -v systemd-analyze >/dev/null; then
  # verify checks that ExecStart's binary exists: point it at the unpacked one.
  sed "s|/usr/bin/skintrack|$root/usr/bin/skintrack|" "$unit" >"$work/skintrack.service"
  verify="$(systemd-analyze verify "$work/skintrack.service" 2>&1)" || fail "verify: $verify"
  [[ -z "$verify" ]] || fail "systemd-analyze verify warned: $verify"
  echo "systemd-analyze verify: clean"
else
  echo "systemd-analyze not installed: unit not verified"
fi

# --- cmake --install into another prefix: the unit names that prefix; an edited configuration
# survives a second install.
prefix="$work/prefix/opt"
cmake --install "$build" --prefix "$prefix" >/dev/null
grep -qxF "ExecStart=$prefix/bin/skintrack serve --config $prefix/etc/skintrack/skintrack.conf --data-dir /var/lib/skintrack" \
  "$prefix/lib/systemd/system/skintrack.service" || fail "cmake --install: unit paths"
echo "port = 9000" >"$prefix/etc/skintrack/skintrack.conf"
cmake --install "$build" --prefix "$prefix" >/dev/null
[[ "$(cat "$prefix/etc/skintrack/skintrack.conf")" == "port = 9000" ]] ||
  fail "cmake --install overwrote an edited configuration"
[[ -f "$prefix/etc/skintrack/skintrack.conf.default" ]] || fail "no skintrack.conf.default"
echo "1 passed, 0 failed"
