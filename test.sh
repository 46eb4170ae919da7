#!/usr/bin/env bash
# Runs every test of the repository. Works on a fresh Debian 12 machine as root:
#   - installs the PostgreSQL server binaries if missing (the tests start their own throwaway
#     cluster from them; no system cluster is left running),
#   - installs the npm dependencies of tests/sdk if missing,
#   - installs Debian's chromium and a CJK font if missing (browser tests of the consoles),
#   - runs `dotnet test Qianbao.slnx` and ends with a line "N passed, N failed".
# Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
export DEBIAN_FRONTEND=noninteractive
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update || return $?
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

have_pg_server() {
    local f
    for f in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$f" ] && return 0
    done
    return 1
}

# --- PostgreSQL server binaries -------------------------------------------------------------
if ! have_pg_server; then
    log "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: installing postgresql"
    # Forbid maintainer scripts from starting services (policy-rc.d exit 101 = "action forbidden";
    # honoured by invoke-rc.d and deb-systemd-invoke). Only add our own if none exists.
    policy=/usr/sbin/policy-rc.d
    added_policy=0
    if [ ! -e "$policy" ]; then
        trap 'as_root rm -f "$policy"' EXIT
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        added_policy=1
    fi
    install_rc=0
    apt_install postgresql || install_rc=$?
    if [ "$added_policy" -eq 1 ]; then
        as_root rm -f "$policy"
        trap - EXIT
    fi
    [ "$install_rc" -eq 0 ] || { log "apt-get install postgresql failed ($install_rc)"; exit "$install_rc"; }

    # Belt and braces: stop any system cluster the package started anyway, and keep it from
    # starting at boot. The tests only need the binaries.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header 2>/dev/null | while read -r ver name _port status _rest; do
            case "$status" in
                online*) log "stopping system cluster $ver/$name"; as_root pg_ctlcluster "$ver" "$name" stop || true ;;
            esac
        done
    fi
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        as_root systemctl disable --now postgresql >/dev/null 2>&1 || true
    fi
    have_pg_server || { log "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
fi

# --- curl: the README walkthrough test runs the README's own curl commands ----------------------
if ! command -v curl >/dev/null 2>&1; then
    log "curl not found: installing curl"
    apt_install curl
fi

# --- chromium and a CJK font: the console tests drive Debian's chromium with Playwright -----------
# (Playwright cannot download browsers here; the tests launch /usr/bin/chromium, and the Chinese pages need a font.)
if [ ! -x /usr/bin/chromium ]; then
    log "chromium not found: installing chromium"
    apt_install chromium
fi
if ! fc-list 2>/dev/null | grep -qiE "wqy|noto sans cjk"; then
    log "no CJK font found: installing fonts-wqy-zenhei"
    apt_install fonts-wqy-zenhei
fi

# --- npm dependencies of the SDK harness -------------------------------------------------------
if [ -f tests/sdk/package.json ] && [ ! -d tests/sdk/node_modules ]; then
    if ! command -v npm >/dev/null 2>&1; then
        log "npm not found: installing nodejs npm"
        apt_install nodejs npm
    fi
    log "npm ci --prefix tests/sdk"
    npm ci --prefix tests/sdk --no-audit --no-fund </dev/null
fi

# --- .NET tests --------------------------------------------------------------------------------
command -v dotnet >/dev/null 2>&1 || { log "dotnet SDK not found on PATH"; exit 1; }

results=TestResults/test.sh
rm -rf "$results"
mkdir -p "$results"

# vstest kills the test host 100 ms after asking it to exit, which cuts short the host's
# ProcessExit cleanup (stopping the throwaway PostgreSQL cluster takes longer than that).
export VSTEST_TESTHOST_SHUTDOWN_TIMEOUT="${VSTEST_TESTHOST_SHUTDOWN_TIMEOUT:-15000}"

log "dotnet test Qianbao.slnx"
set +e
dotnet test Qianbao.slnx \
    --logger "console;verbosity=minimal" \
    --logger "trx" \
    --results-directory "$results" \
    </dev/null
dotnet_rc=$?
set -e

# --- summary (summed over the per-project TRX files) ---------------------------------------
passed=0 failed=0 total=0 parsed=0
attr() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
shopt -s nullglob
for trx in "$results"/*.trx; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)
    [ -n "$counters" ] || continue
    t=$(attr total) p=$(attr passed) f=$(attr failed) e=$(attr error) to=$(attr timeout) a=$(attr aborted)
    [ -n "$t" ] && [ -n "$p" ] && [ -n "$f" ] || continue
    total=$((total + t))
    passed=$((passed + p))
    failed=$((failed + f + ${e:-0} + ${to:-0} + ${a:-0}))
    parsed=$((parsed + 1))
done
shopt -u nullglob

echo
if [ "$parsed" -eq 0 ]; then
    log "could not read a test summary from $results/*.trx (dotnet test exit code $dotnet_rc)"
    exit "$dotnet_rc"
fi
skipped=$((total - passed - failed))
if [ "$skipped" -gt 0 ]; then
    echo "$skipped of $total not run (skipped or not executed)"
fi
echo "$passed passed, $failed failed"

if [ "$dotnet_rc" -ne 0 ]; then
    exit "$dotnet_rc"
fi
if [ "$failed" -ne 0 ]; then
    exit 1
fi
exit 0
