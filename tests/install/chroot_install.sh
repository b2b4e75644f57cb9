#!/usr/bin/env bash
# chroot_install.sh — install the two .debs into a throwaway Debian 12 root and use them there.
#
#   tests/install/chroot_install.sh DIST_DIR CACHE_DIR
#
# The root is made by mmdebstrap from Debian's own packages (bookworm + updates + security, minbase plus
# systemd and every package the two .debs depend on), cached as a tarball in CACHE_DIR keyed by that
# package list, so a re-run only unpacks it (seconds) and needs no network. In it, as the packages'
# own users: dpkg -i both; systemd-analyze verify on every installed unit; tally-admin init + units + a
# device; tally-server on a free loopback port; the kiosk app (SDL dummy video, a tap script) storing three
# ratings with the fonts it finds under /usr/share/hailong-kiosk by itself, and one more through
# kiosk-display.service's own command line (cage, on wlroots' headless backend); kiosk-sync --once uploading them;
# the tally read back. Then the same version installed over itself with an edited conffile (the edit is
# kept, without a prompt), and a purge (configs and unit state gone; databases, token and users kept).
# systemd is installed but not running (not PID 1): the maintainer scripts must cope.
# Exits 0 when every check holds; prints each step with its time.
set -euo pipefail

src=$(realpath "$(dirname "$0")/../..") # the source tree this script is in
dist=$(realpath "$1")
cache=$(realpath -m "$2")
kiosk_deb=$(ls "$dist"/hailong-kiosk_*.deb | tail -n 1)
tally_deb=$(ls "$dist"/hailong-tally_*.deb | tail -n 1)
start=$SECONDS
step() { printf '== [%3ds] %s\n' $((SECONDS - start)) "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- the base root, from cache ----------------------------------------------------------------------------
deps=$( (dpkg-deb -f "$kiosk_deb" Depends; echo ,; dpkg-deb -f "$tally_deb" Depends) | tr ',' '\n' |
        sed 's/(.*)//; s/|.*//; s/ //g' | grep -v '^$' | sort -u | tr '\n' ',')
include="${deps}init-system-helpers,systemd"
key=$(printf '%s' "$include" | sha256sum | cut -c1-16)
base="$cache/bookworm-$key.tar"
mkdir -p "$cache"
if [ ! -f "$base" ]; then
  step "making the Debian 12 base root with mmdebstrap (cached as $base)"
  rm -rf "$base.part"
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar --include="$include" bookworm "$base.part" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  mv "$base.part" "$base"
  find "$cache" -maxdepth 1 -name "bookworm-*.tar" ! -path "$base" -delete   # older package sets
fi

root=$(mktemp -d /tmp/hailong-chroot.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  for m in proc dev/pts dev; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
step "unpacking the base root into $root"
tar -C "$root" -xf "$base"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
mount -t proc proc "$root/proc"
[ ! -d "$root/run/systemd/system" ] || fail "the root says systemd is running"
inroot() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# setpriv execs the program itself (runuser would stay in between and swallow its exit status on SIGTERM).
asuser() { local u=$1; shift; inroot setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }

# ---- install ----------------------------------------------------------------------------------------------
cp "$kiosk_deb" "$root/tmp/kiosk.deb"
cp "$tally_deb" "$root/tmp/tally.deb"
step "dpkg -i $(basename "$tally_deb") $(basename "$kiosk_deb")"
inroot env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/tally.deb /tmp/kiosk.deb </dev/null
inroot getent passwd hailong-tally >/dev/null || fail "no hailong-tally user"
inroot getent passwd hailong-kiosk >/dev/null || fail "no hailong-kiosk user"
for g in input video render; do
  if inroot getent group "$g" >/dev/null; then
    inroot id -nG hailong-kiosk | tr ' ' '\n' | grep -qx "$g" || fail "hailong-kiosk is not in group $g"
  fi
done
for f in lang/vi/strings.txt lang/en/strings.txt lang/vi/voice/area_dat_dai.wav; do
  [ -f "$root/usr/share/hailong-kiosk/$f" ] || fail "/usr/share/hailong-kiosk/$f is not installed"
done
[ "$(inroot stat -c '%U %a' /var/lib/hailong-tally)" = "hailong-tally 750" ] || fail "/var/lib/hailong-tally owner/mode"
[ "$(inroot stat -c '%U %a' /var/lib/hailong-kiosk)" = "hailong-kiosk 750" ] || fail "/var/lib/hailong-kiosk owner/mode"
[ "$(inroot stat -c '%U %G %a' /etc/hailong-kiosk/kiosk.ini)" = "root hailong-kiosk 640" ] || fail "kiosk.ini owner/mode"
for u in multi-user.target.wants/tally-server.service timers.target.wants/tally-backup.timer \
         multi-user.target.wants/kiosk-sync.service multi-user.target.wants/kiosk-display.service; do
  [ -L "$root/etc/systemd/system/$u" ] || fail "$u is not enabled"
done
[ -z "$(ls "$root/var/lib/hailong-tally")" ] || [ "$(ls "$root/var/lib/hailong-tally")" = backups ] ||
  fail "something ran at install: $(ls "$root/var/lib/hailong-tally")"

step "systemd-analyze verify on every installed unit"
# man-db is not in the root (its pages are checked by lintian); any warning verify prints is a failure.
msgs=$(inroot systemd-analyze verify --man=no /lib/systemd/system/tally-server.service \
  /lib/systemd/system/tally-backup.service /lib/systemd/system/tally-backup.timer \
  /lib/systemd/system/kiosk-sync.service /lib/systemd/system/kiosk-display.service 2>&1) || fail "verify: $msgs"
[ -z "$msgs" ] || fail "systemd-analyze verify: $msgs"
step "systemd-analyze security --offline=true tally-server.service"
inroot systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/tally-server.service | tail -n 1

# ---- use it -----------------------------------------------------------------------------------------------
db=/var/lib/hailong-tally/tally.db
unit=000.00.31.H21.DEMO
step "tally-admin init, unit import, device add (as hailong-tally)"
asuser hailong-tally tally-admin --db $db init
asuser hailong-tally tally-admin --db $db unit import /usr/share/hailong-tally/units-gialai.csv
for f in roles.sql grants.sql; do # for the DBA who moves the tally to PostgreSQL (docs/operations.md)
  cmp "$root/usr/share/hailong-tally/postgresql/$f" "$src/packaging/tally/postgresql/$f" || fail "$f not installed"
done
asuser hailong-tally tally-admin --db $db device add kiosk-chroot-01 --unit $unit > "$root/etc/hailong-kiosk/token"
inroot chown hailong-kiosk:hailong-kiosk /etc/hailong-kiosk/token
chmod 600 "$root/etc/hailong-kiosk/token"
[ "$(wc -c < "$root/etc/hailong-kiosk/token")" -ge 64 ] || fail "no device token"

step "tally-server on a free loopback port (as hailong-tally)"
# Not through asuser: $! must be the server itself (chroot, env and setpriv each exec the next).
chroot "$root" env -i PATH=/usr/bin:/bin setpriv --reuid=hailong-tally --regid=hailong-tally --init-groups \
  tally-server --db $db --listen 127.0.0.1:0 \
  > "$root/tmp/server.out" 2> "$root/tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$root/tmp/server.out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$root/tmp/server.out" | head -n 1)
[ -n "$url" ] || { cat "$root/tmp/server.log" >&2; fail "tally-server did not start"; }

step "the conffile edited: this kiosk's id, unit and server"
sed -i -e "s|^device_id = .*|device_id = kiosk-chroot-01|" -e "s|^unit_code = .*|unit_code = $unit|" \
  -e "s|^url = .*|url = $url/api/v1|" -e "s|^; Relative paths|; edited by chroot_install.sh\n; Relative paths|" \
  "$root/etc/hailong-kiosk/kiosk.ini"
cp "$root/etc/hailong-kiosk/kiosk.ini" "$root/tmp/kiosk.ini.edited"

step "the kiosk app taps three ratings (SDL dummy video; fonts found under /usr/share/hailong-kiosk)"
cat > "$root/tmp/taps.txt" <<'TAPS'
expect area
tap area:dat_dai
tap face:3
expect thanks
wait 9000
tap area:xay_dung
tap face:1
expect reasons
tap reason:cho_doi
tap send
expect thanks
wait 9000
tap area:tu_phap_ho_tich
tap face:2
expect thanks
wait 1000
quit
TAPS
chmod 644 "$root/tmp/taps.txt"
asuser hailong-kiosk env SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy kiosk --config /etc/hailong-kiosk/kiosk.ini \
  --windowed --size 800x480 --script /tmp/taps.txt
[ -f "$root/var/lib/hailong-kiosk/kiosk.db" ] || fail "the kiosk made no store"

step "kiosk-display.service's own command (cage + kiosk) taps one more rating (wlroots' headless backend)"
# The unit's ExecStart and Environment, as installed; logind would provide XDG_RUNTIME_DIR, and a real screen
# the DRM backend. --script taps instead of a finger.
exec_start=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/kiosk-display.service")
unit_env=$(sed -n 's/^Environment=//p' "$root/lib/systemd/system/kiosk-display.service")
printf 'expect area\ntap area:dat_dai\ntap face:2\nexpect thanks\nwait 500\nquit\n' > "$root/tmp/cage-taps.txt"
chmod 644 "$root/tmp/cage-taps.txt"
install -d -m 700 "$root/tmp/xdg"
inroot chown hailong-kiosk /tmp/xdg
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quoting in it)
asuser hailong-kiosk env $unit_env XDG_RUNTIME_DIR=/tmp/xdg WLR_BACKENDS=headless WLR_RENDERER=pixman \
  WLR_LIBINPUT_NO_DEVICES=1 $exec_start --script /tmp/cage-taps.txt > "$root/tmp/cage.log" 2>&1 ||
  { tail -n 20 "$root/tmp/cage.log" >&2; fail "cage + kiosk did not run"; }
grep -q "kiosk: rating .* area dat_dai score 2" "$root/tmp/cage.log" ||
  { tail -n 20 "$root/tmp/cage.log" >&2; fail "no rating stored under cage"; }

step "kiosk-sync --once (as hailong-kiosk)"
asuser hailong-kiosk kiosk-sync --config /etc/hailong-kiosk/kiosk.ini --once
# Yesterday to tomorrow: the run may cross midnight in Gia Lai.
from=$(TZ=Asia/Ho_Chi_Minh date -d '1 day ago' +%F)
to=$(TZ=Asia/Ho_Chi_Minh date -d '1 day' +%F)
today=$(TZ=Asia/Ho_Chi_Minh date +%F)
# --by year gives the rows of the tally (the range may cross a new year: the rows are summed).
report=$(asuser hailong-tally tally-admin --db $db report --from "$from" --to "$to" --by year --format csv)
echo "$report"
# n counts valid ratings and flagged the misuse-flagged ones (the one under cage follows the third within
# seconds: a rapid repeat): together every rating tapped.
n=$(echo "$report" | awk -F, 'NR > 1 { s += $2 + $7 } END { print s + 0 }')
[ "$n" = 4 ] || fail "the tally holds $n ratings, not 4"
asuser hailong-kiosk kiosk-report --config /etc/hailong-kiosk/kiosk.ini --date "$today" >/dev/null
step "report files as PDF and XLSX (the packaged font and libraries)"
asuser hailong-tally tally-admin --db $db report --from "$from" --to "$to" --format pdf --out /tmp/report.pdf
asuser hailong-tally tally-admin --db $db report --from "$from" --to "$to" --format xlsx --out /tmp/report.xlsx
[ "$(head -c 5 "$root/tmp/report.pdf")" = "%PDF-" ] || fail "tally-admin report made no PDF"
[ "$(head -c 2 "$root/tmp/report.xlsx")" = "PK" ] || fail "tally-admin report made no XLSX"

kill "$server_pid"
wait "$server_pid" || fail "tally-server did not stop cleanly on SIGTERM"
server_pid=
grep -q "\"POST /api/v1/batches\" 200 batches" "$root/tmp/server.log" || fail "no upload in the server's log"

# ---- upgrade over the same version --------------------------------------------------------------------------
step "dpkg -i the same version again (the edited conffile must be kept, without a prompt)"
inroot env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/tally.deb /tmp/kiosk.deb </dev/null
cmp -s "$root/tmp/kiosk.ini.edited" "$root/etc/hailong-kiosk/kiosk.ini" || fail "the edited kiosk.ini was not kept"
[ ! -e "$root/etc/hailong-kiosk/kiosk.ini.dpkg-new" ] || fail "kiosk.ini.dpkg-new left behind"
[ "$(inroot stat -c '%G %a' /etc/hailong-kiosk/kiosk.ini)" = "hailong-kiosk 640" ] || fail "kiosk.ini mode after upgrade"
ls "$root"/var/lib/hailong-tally/backups/pre-upgrade-from-*.db >/dev/null || fail "no backup before the upgrade"
[ "$(asuser hailong-tally tally-admin --db $db report --from "$from" --to "$to" --by year --format csv |
     awk -F, 'NR > 1 { s += $2 + $7 } END { print s + 0 }')" = 4 ] ||
  fail "ratings lost in the upgrade"

# ---- purge --------------------------------------------------------------------------------------------------
step "dpkg --purge both"
inroot dpkg --purge hailong-kiosk hailong-tally </dev/null
for f in /usr/bin/kiosk /usr/bin/tally-server /etc/hailong-kiosk/kiosk.ini /etc/hailong-tally \
         /lib/systemd/system/tally-server.service /etc/systemd/system/multi-user.target.wants/tally-server.service \
         /etc/systemd/system/multi-user.target.wants/kiosk-display.service; do
  [ ! -e "$root$f" ] || fail "$f is still there after purge"
done
inroot dpkg-statoverride --list /etc/hailong-kiosk/kiosk.ini >/dev/null && fail "the statoverride survived purge"
for f in /var/lib/hailong-tally/tally.db /var/lib/hailong-kiosk/kiosk.db /etc/hailong-kiosk/token; do
  [ -e "$root$f" ] || fail "purge removed $f, which it must keep"
done
step "all checks passed"
