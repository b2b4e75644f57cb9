#!/usr/bin/env bash
# units_check.sh — the packages' systemd units, checked on this machine without installing anything:
# `systemd-analyze verify` on every unit (each /usr/bin/PROGRAM in them pointed at the build's own binary,
# and cage, which only a kiosk has, at /bin/true), and `systemd-analyze security --offline=true` on the
# unmodified tally-server.service, which must rate 2.0 ("OK") or better.
# The chroot test (chroot_install.sh) runs verify again on the installed, unmodified units.
#   tests/install/units_check.sh PACKAGING_DIR BIN_DIR...
set -euo pipefail
src=$(realpath "$1"); shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sub=(-e "s|/usr/bin/cage|/bin/true|g")
for d in "$@"; do
  for b in "$d"/*; do
    [ -x "$b" ] && [ -f "$b" ] && sub+=(-e "s|/usr/bin/$(basename "$b") |$(realpath "$b") |g")
  done
done
units=()
for u in "$src"/kiosk/*.service "$src"/tally/*.service "$src"/tally/*.timer; do
  sed "${sub[@]}" "$u" > "$tmp/$(basename "$u")"
  units+=("$tmp/$(basename "$u")")
done
grep -h '^ExecStart=' "${units[@]}" | grep -q '/usr/bin/' && { echo "a /usr/bin program was not substituted" >&2; exit 1; }
echo "== systemd-analyze verify ${#units[@]} units"
# verify only warns about an unknown key or a bad value: any line it prints is a failure here.
msgs=$(cd "$tmp" && systemd-analyze verify --man=no "${units[@]}" 2>&1) || { echo "$msgs" >&2; exit 1; }
[ -z "$msgs" ] || { echo "$msgs" >&2; exit 1; }
echo "== systemd-analyze security --offline=true tally-server.service"
out=$(systemd-analyze security --offline=true --threshold=20 "$src/tally/tally-server.service")
echo "$out" | tail -n 1
echo "$out" | tail -n 1 | grep -Eq 'exposure level for tally-server.service: (0\.[0-9]|1\.[0-9]|2\.0) ' || exit 1
