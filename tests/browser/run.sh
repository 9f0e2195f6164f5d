#!/usr/bin/env bash
# The real-browser test: JupyterLab from .venv, driven by headless Chromium as a student meets it.
#
#   bash tests/browser/run.sh          (or: make test-browser)
#
# It serves a temporary copy of the course, so running notebooks never writes outputs, checkpoints or a
# gradebook into the working tree; drive.mjs opens the start page, one lesson (runs all its cells, moves an
# explorer's slider) and one lab; explorers.mjs runs lessons 01-08 and moves every explorer in them (each
# input gets its figure, drags end on the right one, the picture equals a full draw, figures fit the default
# layout); saves screenshots to tests/browser/screenshots/; and stops everything it started, even when it
# fails. `make bench` runs explorers.mjs with MODE=bench to time the explorers.
#
# Needs Chromium (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome), Node >= 20 and
# `npm ci --prefix tests/browser`. What it opens can be changed from the environment:
START="${START:-lessons/00_start_here.ipynb}"                          # the start page (Binder's labpath)
LESSON="${LESSON:-lessons/03_momentum_and_nesterov.ipynb}"            # a lesson with an explorer
LAB="${LAB:-labs/lab01_gradient_descent/lab01_gradient_descent.ipynb}" # a student lab, as released
COURSE_DIR="${COURSE_DIR:-}"   # the folder those paths are in; default: this repository
DRIVERS="${DRIVERS:-drive.mjs explorers.mjs}"  # what to run: drive.mjs (start page, a lesson, a lab), explorers.mjs
PORT="${PORT:-}"               # the server's port on 127.0.0.1; default: a free one
# explorers.mjs reads MODE (test or bench), LESSONS ("01 02 ..."), INPUTS (per explorer) and RESULTS (a JSON file).
JUPYTER="${JUPYTER:-}"         # the jupyter that serves them; default: the repository's .venv/bin/jupyter
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
COURSE_DIR="$(cd "${COURSE_DIR:-$repo}" && pwd)"
jupyter="${JUPYTER:-$repo/.venv/bin/jupyter}"

fail() { echo "test-browser: $*" >&2; exit 1; }

# --- what the test needs, each with what to do when it is missing ----------------------------------
browser="${CHROMIUM:-}"
[ -z "$browser" ] || [ -x "$browser" ] || fail "CHROMIUM=$browser is not an executable; point it at Chrome or Chromium."
if [ -z "$browser" ]; then
    for name in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then browser="$(command -v "$name")"; break; fi
    done
fi
[ -n "$browser" ] || fail "no Chromium found (looked for \$CHROMIUM, chromium, chromium-browser,
  google-chrome-stable, google-chrome on PATH). Install one (Debian/Ubuntu: sudo apt-get install chromium)
  or point CHROMIUM at a Chrome/Chromium executable. 'make test' does not need a browser."
command -v node >/dev/null 2>&1 || fail "Node.js (>= 20) is not installed; the test drives Chromium from Node."
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || fail "Node.js $(node --version) is too old; playwright-core needs Node >= 20."
[ -f "$here/node_modules/playwright-core/package.json" ] \
    || fail "playwright-core is not installed; run: npm ci --prefix tests/browser"
[ -x "$jupyter" ] || fail "$jupyter not found; run: make setup"
for path in "$START" "$LESSON" "$LAB"; do
    [ -f "$COURSE_DIR/$path" ] || fail "no notebook at $path (in $COURSE_DIR); set START, LESSON or LAB to one that exists."
done

# --- a fresh, private place for everything this run creates -----------------------------------------
work="$(mktemp -d -t optilab-browser.XXXXXX)"
server_pid=""
driver_pid=""

# Processes whose command line mentions this run's folder: kernels (their connection files live in
# $work/runtime) and Chromium (its profile lives in $work/chromium). Found by PID, killed by PID.
ours() {
    local proc cmdline
    for proc in /proc/[0-9]*; do
        { cmdline="$(tr '\0' ' ' < "$proc/cmdline")"; } 2>/dev/null || continue
        [[ "$cmdline" == *"$work/"* ]] && echo "${proc#/proc/}"
    done
    return 0
}

cleanup() {
    local status=$? pids i
    trap - EXIT INT TERM
    if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
        kill -TERM "$driver_pid" 2>/dev/null || true
        wait "$driver_pid" 2>/dev/null || true
    fi
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        # SIGTERM: the server shuts its kernels down before it exits.
        kill -TERM -- "-$server_pid" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$server_pid" 2>/dev/null || true
    fi
    pids="$(ours)"
    if [ -n "$pids" ]; then
        echo "test-browser: stopping leftover processes: $pids" >&2
        kill -KILL $pids 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/jupyter.log" ]; then
        echo "test-browser: FAILED; the last lines of the JupyterLab log:" >&2
        tail -n 25 "$work/jupyter.log" >&2
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work/course" "$work/config" "$work/data" "$work/runtime" "$work/ipython" \
         "$work/settings" "$work/workspaces" "$work/chromium"
tar -C "$COURSE_DIR" --exclude=./.venv --exclude=./.git --exclude='./*/node_modules' --exclude=./build \
    --exclude=./grading --exclude='*/.ipynb_checkpoints' --exclude=./tests -cf - . | tar -C "$work/course" -xf -

# Fresh JupyterLab settings: no autosave and no news/update checks (their pop-ups would cover the page).
# Everything else, but the windowing set below, is the default a student gets.
mkdir -p "$work/settings/@jupyterlab/docmanager-extension" "$work/settings/@jupyterlab/apputils-extension"
echo '{"autosave": false}' > "$work/settings/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"
# Every cell stays in the page: with JupyterLab's windowing, cells far off screen are left out of it,
# and the checks that count rendered cells and run prompts would race with the scrolling.
mkdir -p "$work/settings/@jupyterlab/notebook-extension"
echo '{"windowingMode": "none"}' > "$work/settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
echo '{"fetchNews": "false", "checkForUpdates": false}' \
    > "$work/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"

port="${PORT:-$("$repo/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
# CI runs as root in a throw-away machine; JupyterLab refuses root unless told.
as_root=""
[ "$(id -u)" -ne 0 ] || as_root="--allow-root"
token="$("$repo/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"

# The user-level Jupyter folders are fresh; the venv's own (kernel spec, lab extensions for ipywidgets and
# nbgrader, server-extension config) stay on the path, as they are for a student. MPLBACKEND is unset as
# it is in Binder or a plain `jupyter lab`: the kernel then draws with matplotlib's inline backend.
echo "test-browser: starting JupyterLab on 127.0.0.1:$port (log: $work/jupyter.log)"
started=$(date +%s)
(
    cd "$work/course"
    exec env -u MPLBACKEND PYTHONNOUSERSITE=1 \
        JUPYTER_CONFIG_DIR="$work/config" JUPYTER_DATA_DIR="$work/data" JUPYTER_RUNTIME_DIR="$work/runtime" \
        IPYTHONDIR="$work/ipython" \
        setsid "$jupyter" lab --no-browser --ip=127.0.0.1 --port="$port" \
        --ServerApp.token="$token" --ServerApp.root_dir="$work/course" \
        --LabApp.user_settings_dir="$work/settings" --LabApp.workspaces_dir="$work/workspaces" $as_root \
        >"$work/jupyter.log" 2>&1
) &
server_pid=$!

for i in $(seq 1 90); do
    kill -0 "$server_pid" 2>/dev/null || fail "JupyterLab exited while starting; its log follows."
    curl -fsS -o /dev/null "http://127.0.0.1:$port/api/status?token=$token" 2>/dev/null && break
    [ "$i" -lt 90 ] || fail "JupyterLab did not answer within 45 s."
    sleep 0.5
done
echo "test-browser: JupyterLab is up after $(( $(date +%s) - started )) s"

for driver in $DRIVERS; do
    [ -f "$here/$driver" ] || fail "no driver $driver in tests/browser"
    # drive.mjs takes about a minute; explorers.mjs runs eight lessons and moves every explorer (minutes).
    limit=140; [ "$driver" = drive.mjs ] || limit="${EXPLORERS_LIMIT_S:-1500}"
    JUPYTER_URL="http://127.0.0.1:$port" JUPYTER_TOKEN="$token" CHROMIUM="$browser" \
    COURSE_ROOT="$work/course" PROFILE_DIR="$work/chromium-${driver%.mjs}" SCREENSHOTS="$here/screenshots" \
    START="$START" LESSON="$LESSON" LAB="$LAB" \
        timeout --kill-after=10 "$limit" node "$here/$driver" &
    driver_pid=$!
    wait "$driver_pid"   # in the background, so that a signal to this script stops the drive at once
done
echo "test-browser: passed in $(( $(date +%s) - started )) s (screenshots in tests/browser/screenshots/)"
