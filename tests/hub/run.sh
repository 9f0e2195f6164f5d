#!/usr/bin/env bash
# One lab through a real JupyterHub, as a class would use it (make test-hub).
#
# It builds the course's Python environment, creates an instructor and two students as Linux users
# (names with a unique prefix), starts JupyterHub behind configurable-http-proxy with the recipe of
# docs/hub/ (its jupyterhub_config.py and global_nbgrader_config.py, unchanged), and runs
# tests/hub/drive.py, which drives the whole loop over the hub's REST API and the users' own servers.
# Whatever happens, it stops the hub and every process of those users, deletes the users and their
# homes, and removes everything else it made.
#
# Needs root (it creates Linux users and JupyterHub spawns servers as them), python3 >= 3.11 with venv,
# make, Node.js >= 20 and `npm ci --prefix tests/hub`. Listens on 127.0.0.1 ports HUB_PORT..HUB_PORT+12.
HUB_PORT="${HUB_PORT:-18000}"
# The course's environment is built from a Python every user can run: the system's, not one kept
# in root's home (pyenv, conda) that the users' servers could not start.
PYTHON="${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
fail() { echo "test-hub: $*" >&2; exit 1; }
step() { echo "test-hub: $*"; }

# --- what the test needs, each with what to do when it is missing ----------------------------------
[ "$(id -u)" = 0 ] || fail "needs root: it creates Linux users for an instructor and two students, and
  JupyterHub starts each user's server as that user. Run it as root (as CI does), e.g. in a container."
for tool in useradd userdel runuser make node; do
    command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed (Debian: apt-get install passwd util-linux make nodejs)."
done
[ -x "$here/node_modules/.bin/configurable-http-proxy" ] \
    || fail "configurable-http-proxy is not installed; run: npm ci --prefix tests/hub"
"$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || fail "$PYTHON is not Python >= 3.11 with venv (Debian: apt-get install python3-venv); set PYTHON=/path/to/python3.11"

# --- everything this run creates: three users, one folder ----------------------------------------
prefix="ol$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"   # e.g. ol3fa91c: no clash with real users
instructor="${prefix}i"
students=("${prefix}a" "${prefix}b")
users=("$instructor" "${students[@]}")
work="$(mktemp -d -t optilab-hub.XXXXXX)"
chmod 755 "$work"                     # the users must reach the environment and the exchange in it
created_users=()
hub_pid=""

pids_of_users() {   # every process running as one of this run's users
    local proc uid user wanted
    for user in "${created_users[@]}"; do
        wanted="$(id -u "$user" 2>/dev/null)" || continue
        for proc in /proc/[0-9]*; do
            uid="$(awk '/^Uid:/ {print $2}' "$proc/status" 2>/dev/null)" || continue
            [ "$uid" = "$wanted" ] && echo "${proc#/proc/}"
        done
    done
}

cleanup() {
    local status=$? pid user i
    trap - EXIT INT TERM
    set +e
    if [ "$status" != 0 ] && [ -f "$work/hub/hub.log" ]; then
        echo "test-hub: FAILED; the last lines of JupyterHub's log (the servers' logs are in it):" >&2
        tail -n 40 "$work/hub/hub.log" >&2
    fi
    if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then
        kill -TERM "$hub_pid"               # the hub stops the users' servers, the service and the proxy
        for i in $(seq 1 300); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$hub_pid" 2>/dev/null
    fi
    if [ -f "$work/hub/proxy.pid" ]; then
        pid="$(cat "$work/hub/proxy.pid")"
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
    fi
    for pid in $(pids_of_users); do kill -KILL "$pid" 2>/dev/null; done
    for i in $(seq 1 50); do [ -z "$(pids_of_users)" ] && break; sleep 0.1; done   # userdel refuses a busy user
    for user in "${created_users[@]}"; do
        userdel --remove "$user" 2>/dev/null || userdel "$user" 2>/dev/null
        rm -rf "/home/$user"
    done
    rm -rf "$work"
    [ "$status" = 0 ] && step "cleaned up: users ${users[*]} deleted, $work removed" \
                      || echo "test-hub: cleaned up after the failure (users deleted, $work removed)" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
step "users: instructor $instructor, students ${students[*]} (homes private, 700, as the recipe says)"
for user in "${users[@]}"; do
    id "$user" >/dev/null 2>&1 && fail "a user $user already exists; run again (the prefix is random)"
    useradd --create-home --shell /bin/bash "$user"
    created_users+=("$user")
    chmod 700 "/home/$user"
done

step "the course's environment, for everyone: $work/env (pip install of the course and jupyterhub)"
# A copy of the course as it is in this working tree (tracked files and new ones git does not ignore).
course_files() { (cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null); }
mkdir "$work/src"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    course_files | tar -xf - -C "$work/src"
else
    (cd "$repo" && tar --exclude=./.venv --exclude=./grading --exclude=./build --exclude=node_modules -cf - .) | tar -xf - -C "$work/src"
fi
"$PYTHON" -m venv "$work/env"
"$work/env/bin/python" -m pip install --quiet "$work/src" -r "$here/requirements.txt" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
"$work/env/bin/python" -c 'import optilab, nbgrader, jupyterhub' || fail "the course's environment is incomplete"
# The course's kernels, as `make setup` installs them: the plain one and the sandboxed one grading uses.
"$work/env/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
"$work/env/bin/python" -m optilab.isolate install >/dev/null
"$work/env/bin/python" -m optilab.websocket install >/dev/null
runuser -u "${students[0]}" -- "$work/env/bin/python" -c 'import optilab' 2>/dev/null \
    || fail "a student cannot run $work/env/bin/python: $PYTHON lives where other users cannot enter
  (e.g. under /root). Set PYTHON to a system-wide Python >= 3.11, such as /usr/bin/python3."
step "the exchange ($work/exchange, 1777) and the recipe's /etc/jupyter (in $work/etc/jupyter)"
install -d -m 1777 "$work/exchange"
install -D -m 644 "$repo/docs/hub/global_nbgrader_config.py" "$work/etc/jupyter/nbgrader_config.py"
install -D -m 644 "$repo/docs/hub/students/jupyter_server_config.json" "$work/etc/jupyter/optilab-students/jupyter_server_config.json"
install -D -m 644 "$repo/docs/hub/students/labconfig/page_config.json" "$work/etc/jupyter/optilab-students/labconfig/page_config.json"

step "the instructor's clone of the course: /home/$instructor/optilab (private, 700)"
course="/home/$instructor/optilab"
cp -a "$work/src" "$course"
rm -rf "$course/build" "$course"/lib/*.egg-info
ln -s "$work/env" "$course/.venv"     # make's targets use the course's environment
touch "$work/env/.installed"          # ... as `make setup` would have left it
chown -R "$instructor:" "$course"
chmod 700 "$course"
rm -rf "$work/src"

step "JupyterHub $("$work/env/bin/jupyterhub" --version) with configurable-http-proxy $("$here/node_modules/.bin/configurable-http-proxy" --version) on 127.0.0.1:$HUB_PORT"
install -d -m 700 "$work/hub"
token="$("$work/env/bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
export HUB_WORK="$work" HUB_PORT HUB_TEST_TOKEN="$token" HUB_COURSE_DIR="$course"
export OPTILAB_INSTRUCTOR="$instructor" OPTILAB_STUDENTS="${students[*]}" OPTILAB_COURSE_DIR="$course"
export OPTILAB_ENV="$work/env" OPTILAB_EXCHANGE="$work/exchange"
export OPTILAB_SERVICE_URL="http://127.0.0.1:$((HUB_PORT + 3))"
(cd "$work/hub" && exec "$work/env/bin/jupyterhub" -f "$here/jupyterhub_config.py" >"$work/hub/hub.log" 2>&1) &
hub_pid=$!
step "set-up took $((SECONDS - started)) s"

"$work/env/bin/python" "$here/drive.py"
step "passed in $((SECONDS - started)) s"
