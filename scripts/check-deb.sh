#!/usr/bin/env bash
# Builds the Debian package (cargo deb) unless given one, then checks it on this
# machine: its contents, the unit (systemd-analyze verify), dpkg -i, the
# installed binary started with the packaged environment file as the service's
# user (systemd need not be PID 1), /healthz, a reinstall that keeps the data and
# an edited env file, dpkg -r (keeps them), dpkg -P (removes them and the user).
# Root on Debian/Ubuntu only: it installs and purges the package `ozmap-ivr`.
#   scripts/check-deb.sh [path/to/ozmap-ivr_<version>_amd64.deb]
# (the README's `ozmap-ivr check` runs too, as the service's user).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
step() { echo "check-deb: $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (it installs and purges the package)"
command -v dpkg >/dev/null || fail "dpkg not found: Debian or Ubuntu only"

deb="${1:-}"
if [ -z "$deb" ]; then
    deb="$(cargo deb)" # progress on stderr, the path on stdout
fi
[ -f "$deb" ] || fail "no package at '$deb'"
case "$(basename "$deb")" in
ozmap-ivr_*_amd64.deb | ozmap-ivr_*_arm64.deb) ;;
*) fail "unexpected package name $(basename "$deb")" ;;
esac
step "package $deb"

# Contents.
contents="$(dpkg-deb -c "$deb")"
for path in ./usr/bin/ozmap-ivr ./lib/systemd/system/ozmap-ivr.service ./etc/ozmap-ivr/ozmap-ivr.env; do
    grep -q " $path\$" <<<"$contents" || fail "$path not in the package"
done
grep -q '^-rwxr-xr-x .* ./usr/bin/ozmap-ivr$' <<<"$contents" || fail "the binary is not executable"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/ozmap-ivr/ozmap-ivr.env || fail "the env file is not a conffile"
for script in postinst prerm postrm; do
    dpkg-deb -I "$deb" "$script" >/dev/null || fail "no $script"
done
step "contents: binary, unit, env file (conffile), maintainer scripts"

# A clean start: nothing of an earlier run.
dpkg -P ozmap-ivr >/dev/null 2>&1 || true
rm -rf /var/lib/ozmap-ivr /etc/ozmap-ivr

dpkg -i "$deb" >/dev/null || fail "dpkg -i"
getent passwd ozmap-ivr >/dev/null || fail "postinst made no user ozmap-ivr"
[ "$(stat -c %U:%G:%a /etc/ozmap-ivr/ozmap-ivr.env)" = root:ozmap-ivr:640 ] \
    || fail "env file owner/mode: $(stat -c %U:%G:%a /etc/ozmap-ivr/ozmap-ivr.env)"
[ "$(stat -c %U /var/lib/ozmap-ivr)" = ozmap-ivr ] || fail "/var/lib/ozmap-ivr not the user's"
step "installed: user ozmap-ivr, /var/lib/ozmap-ivr, env file root:ozmap-ivr 0640"

verify="$(systemd-analyze verify /lib/systemd/system/ozmap-ivr.service 2>&1)" \
    || fail "systemd-analyze verify: $verify"
# verify exits 0 on some warnings; any line naming our unit is one to fix.
if grep -q 'ozmap-ivr.service' <<<"$verify"; then fail "systemd-analyze verify: $verify"; fi
step "systemd-analyze verify: accepted"

# `ozmap-ivr check` as the README runs it: the packaged configuration (the
# built-in sandbox) passes, and creates no database.
checked="$(runuser -u ozmap-ivr -- sh -c 'cd /var/lib/ozmap-ivr; set -a; . /etc/ozmap-ivr/ozmap-ivr.env; exec ozmap-ivr check' 2>&1)" \
    || fail "ozmap-ivr check: $checked"
[ ! -e /var/lib/ozmap-ivr/ozmap-ivr.db ] || fail "ozmap-ivr check created the database"
step "ozmap-ivr check as ozmap-ivr: all checks passed"

# The installed binary with the packaged env file, as the unit runs it.
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
log="$(mktemp)"
(
    cd /var/lib/ozmap-ivr
    set -a
    # shellcheck disable=SC1091
    . /etc/ozmap-ivr/ozmap-ivr.env
    IVR_BIND="127.0.0.1:$port"
    set +a
    exec setpriv --reuid ozmap-ivr --regid ozmap-ivr --init-groups --no-new-privs \
        /usr/bin/ozmap-ivr serve
) >"$log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
[ -n "$ok" ] || { cat "$log" >&2; kill "$pid" 2>/dev/null || true; fail "/healthz did not answer"; }
kill -TERM "$pid"
wait "$pid" || { cat "$log" >&2; fail "the service did not stop cleanly on SIGTERM"; }
[ -f /var/lib/ozmap-ivr/ozmap-ivr.db ] || fail "no database in /var/lib/ozmap-ivr"
[ "$(stat -c %U /var/lib/ozmap-ivr/ozmap-ivr.db)" = ozmap-ivr ] || fail "the database is not the user's"
rm -f "$log"
step "started as ozmap-ivr with the packaged env file: /healthz answered, SIGTERM stopped it, database in /var/lib/ozmap-ivr"

# An upgrade (here: the same package again) keeps the data and an edited env file.
echo 'IVR_COMPANY_NAME="Provedor de teste"' >>/etc/ozmap-ivr/ozmap-ivr.env
dpkg -i "$deb" >/dev/null || fail "dpkg -i over the installed package"
grep -q 'Provedor de teste' /etc/ozmap-ivr/ozmap-ivr.env || fail "reinstall lost the env file's edit"
[ -f /var/lib/ozmap-ivr/ozmap-ivr.db ] || fail "reinstall lost the database"
step "reinstall: data and edited configuration kept"

dpkg -r ozmap-ivr >/dev/null || fail "dpkg -r"
[ ! -e /usr/bin/ozmap-ivr ] || fail "dpkg -r left the binary"
[ -f /etc/ozmap-ivr/ozmap-ivr.env ] || fail "dpkg -r removed the configuration"
[ -f /var/lib/ozmap-ivr/ozmap-ivr.db ] || fail "dpkg -r removed the data"
step "dpkg -r: binary gone, data and configuration kept"

dpkg -P ozmap-ivr >/dev/null || fail "dpkg -P"
[ ! -e /etc/ozmap-ivr ] || fail "dpkg -P left /etc/ozmap-ivr"
[ ! -e /var/lib/ozmap-ivr ] || fail "dpkg -P left /var/lib/ozmap-ivr"
! getent passwd ozmap-ivr >/dev/null || fail "dpkg -P left the user"
step "dpkg -P: data, configuration and user removed"
step "OK"
