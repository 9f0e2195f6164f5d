"""One lab through a real JupyterHub, driven as the class would drive it (run by tests/hub/run.sh).

Everything goes through the hub's REST API and the users' own servers, with each user's own token:
the students' Jupyter servers (contents API, nbgrader's Assignments endpoints, a kernel) and the
course service, which runs as the instructor (formgrader's API, a kernel for `make`). Nothing here
runs a command as root or as another user.

The loop: the instructor releases the lab -> each student fetches it, writes answers into the
notebook and submits -> the instructor collects, runs `make grade` on the collected submissions,
grades the written answer by hand, generates and releases feedback -> each student fetches the
feedback. Then: grades are exactly what the lab's points give; no student can read a classmate's
work, the gradebook or the solutions; students have no formgrader and no Create Assignment.

"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import requests
import websocket

REPO = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("HUB_PORT", "18000"))
HUB = f"http://127.0.0.1:{PORT}"
ADMIN_TOKEN = os.environ["HUB_TEST_TOKEN"]
INSTRUCTOR = os.environ["OPTILAB_INSTRUCTOR"]
STUDENT_A, STUDENT_B = os.environ["OPTILAB_STUDENTS"].split()
COURSE_DIR = os.environ["OPTILAB_COURSE_DIR"]
EXCHANGE = os.environ["OPTILAB_EXCHANGE"]
COURSE = "optilab"
LAB = "lab01_gradient_descent"
NOTEBOOK = f"{LAB}.ipynb"

# The lab's points (solutions/lab01_gradient_descent): sgd 1 + 1 + 1, minibatches 2 (cover) + 1
# (seeded), largest stable learning rate 2, the written answer 2 (graded by hand). 10 in all, 8 autograded.
MAX_SCORE = 10.0
# Student A hands in the instructor's answers: every autograded point. The instructor gives 1.5 of 2
# for the written answer.
A_AUTO, A_MANUAL = 8.0, 1.5
# Student B's minibatches does not shuffle: every example once, in batches (cover, 2 points), but
# the same order for every seed (seeded, 0 of 1). Everything else is right. 0.5 of 2 by hand.
B_AUTO, B_MANUAL = 7.0, 0.5
UNSHUFFLED_MINIBATCHES = '''def minibatches(X, y, batch_size, seed):
    """Yield the (X_batch, y_batch) pairs of one epoch."""
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
'''

TIMEOUT = 60  # seconds for one HTTP request; grading has its own, longer limit
started = time.monotonic()


def step(message: str) -> None:
    print(f"test-hub: [{time.monotonic() - started:5.1f} s] {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


class Client:
    """One person's requests: their token, against a base URL on the hub (their server or the service)."""

    def __init__(self, name: str, token: str, prefix: str):
        self.name, self.token, self.prefix = name, token, prefix
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, expect: int | tuple[int, ...] | None = 200, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        response = self.http.request(method, HUB + self.prefix + path, allow_redirects=False, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        if wanted is not None and response.status_code not in wanted:
            raise AssertionError(f"{self.name}: {method} {self.prefix}{path} gave HTTP {response.status_code} "
                                 f"(expected {expect}): {response.text[:2000]}")
        return response

    def json(self, method: str, path: str, **kwargs):
        return self.request(method, path, **kwargs).json()

    # --- a kernel in this server, as JupyterLab's console would use it ----------------------------
    def run(self, code: str, timeout: float = 120) -> str:
        """Run ``code`` in a new kernel of this server; return its output (raises on an error)."""
        kernel = self.json("POST", "/api/kernels", json={"name": "python3"}, expect=201)
        url = f"ws://127.0.0.1:{PORT}{self.prefix}/api/kernels/{kernel['id']}/channels"
        ws = websocket.create_connection(url, header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True},
            }))
            output, error, replied, idle = [], None, False, False
            deadline = time.monotonic() + timeout
            while not (replied and idle):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name}: the kernel did not finish within {timeout} s: {''.join(output)}")
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    output.append(content["text"])
                elif kind == "error":
                    error = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
        finally:
            ws.close()
            self.request("DELETE", f"/api/kernels/{kernel['id']}", expect=204)
        if error:
            raise AssertionError(f"{self.name}: the kernel raised {error}\n{''.join(output)}")
        return "".join(output)


def token_for(admin: Client, user: str) -> str:
    """The token a user would create on the hub's token page (here made by the admin, for that user)."""
    reply = admin.json("POST", f"/hub/api/users/{user}/tokens", json={"note": "make test-hub", "expires_in": 3600},
                       expect=201)
    return reply["token"]


def wait_for_hub() -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{HUB}/hub/api/", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("JupyterHub did not answer on its REST API within 60 s")
        time.sleep(0.3)


def start_server(hub: Client, user: str) -> None:
    """The user starts their own server (POST /hub/api/users/<name>/server with their token)."""
    hub.request("POST", f"/hub/api/users/{user}/server", expect=(201, 202))


def wait_until_ready(hub: Client, user: str) -> None:
    deadline = time.monotonic() + 180
    while True:
        model = hub.json("GET", f"/hub/api/users/{user}")
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return
        if server is None and model.get("pending") is None:
            raise AssertionError(f"{user}'s server stopped while starting; see JupyterHub's log")
        if time.monotonic() > deadline:
            raise AssertionError(f"{user}'s server was not ready within 180 s: {model}")
        time.sleep(0.3)


def wait_for_service(instructor: Client) -> None:
    deadline = time.monotonic() + 180
    while True:
        response = instructor.request("GET", "/api/status", expect=None)
        if response.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the course service did not answer within 180 s: HTTP {response.status_code}")
        time.sleep(0.3)


def answers_of(solution_notebook: dict) -> dict[str, str]:
    """The instructor's answer cells, by grade_id, as a student would type them (no solution markers)."""
    answers = {}
    for cell in solution_notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = "".join(cell["source"]).splitlines(keepends=True)
            answers[meta["grade_id"]] = "".join(l for l in lines if "### BEGIN SOLUTION" not in l
                                                and "### END SOLUTION" not in l)
    return answers


def write_answers(student: Client, path: str, answers: dict[str, str]) -> None:
    """Open the fetched notebook through the contents API, replace the answer cells, save it back."""
    model = student.json("GET", f"/api/contents/{path}", params={"content": 1})
    notebook = model["content"]
    replaced = set()
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
            replaced.add(grade_id)
    check(replaced == set(answers), f"{student.name}: the fetched notebook has no cells {set(answers) - replaced}")
    student.request("PUT", f"/api/contents/{path}", json={"type": "notebook", "format": "json", "content": notebook})


def assignment(student: Client) -> dict | None:
    listing = student.json("GET", "/assignments", params={"course_id": COURSE})
    check(listing["success"], f"{student.name}: listing assignments failed: {listing['value']}")
    found = [a for a in listing["value"] if a["assignment_id"] == LAB and a["status"] != "released"] or \
            [a for a in listing["value"] if a["assignment_id"] == LAB]
    return found[0] if found else None


def assignment_action(student: Client, action: str) -> dict:
    reply = student.json("POST", f"/assignments/{action}", json={"course_id": COURSE, "assignment_id": LAB})
    if isinstance(reply, dict) and not reply.get("success", True):
        raise AssertionError(f"{student.name}: {action} failed: {reply.get('value')}")
    return reply


def formgrader(instructor: Client, method: str, path: str, **kwargs):
    reply = instructor.json(method, "/formgrader/api" + path, **kwargs)
    if isinstance(reply, dict) and reply.get("success") is False:
        raise AssertionError(f"formgrader {method} {path} failed: {reply.get('error') or reply.get('log') or reply}")
    return reply


def submission_score(instructor: Client, student: str) -> tuple[float, float]:
    reply = formgrader(instructor, "GET", f"/submission/{LAB}/{student}")
    return reply["score"], reply["max_score"]


def disabled_extensions(client: Client) -> list[str]:
    """The JupyterLab extensions a server's /lab page turns off (its page config)."""
    page = client.request("GET", "/lab").text
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    check(found is not None, f"{client.name}: no page config in {client.prefix}/lab")
    disabled = json.loads(found.group(1)).get("disabledExtensions", [])
    return [k for k, v in disabled.items() if v] if isinstance(disabled, dict) else list(disabled)


def cannot_read(student: Client, paths: list[str]) -> None:
    """From a kernel in the student's own server: every path must be unreadable (and unlistable)."""
    code = (
        "import json, os\n"
        f"paths = {paths!r}\n"
        "result = {}\n"
        "for path in paths:\n"
        "    try:\n"
        "        if os.path.isdir(path):\n"
        "            os.listdir(path)\n"
        "        else:\n"
        "            open(path, 'rb').read(1)\n"
        "        result[path] = 'READ'\n"
        "    except PermissionError:\n"
        "        result[path] = 'denied'\n"
        "    except FileNotFoundError:\n"
        "        result[path] = 'missing'\n"
        "import getpass\n"
        "print('USER', getpass.getuser())\n"
        "print('RESULT', json.dumps(result))\n"
    )
    output = student.run(code)
    check(f"USER {student.name}\n" in output, f"{student.name}'s kernel does not run as {student.name}: {output}")
    result = json.loads(output.split("RESULT", 1)[1])
    leaks = {p: r for p, r in result.items() if r != "denied"}
    check(not leaks, f"{student.name} could read (or find missing) what must be denied: {leaks}")


def main() -> int:
    admin = Client("admin", ADMIN_TOKEN, "")
    step("waiting for JupyterHub's REST API")
    wait_for_hub()
    tokens = {user: token_for(admin, user) for user in (INSTRUCTOR, STUDENT_A, STUDENT_B)}
    hub = {user: Client(user, token, "") for user, token in tokens.items()}
    students = {user: Client(user, tokens[user], f"/user/{user}") for user in (STUDENT_A, STUDENT_B)}
    instructor = Client(INSTRUCTOR, tokens[INSTRUCTOR], f"/services/{COURSE}")

    step("each student starts their own server; the course service starts as the instructor")
    for user in students:
        start_server(hub[user], user)
    for user in students:
        wait_until_ready(hub[user], user)
    wait_for_service(instructor)
    groups = admin.json("GET", f"/hub/api/groups/formgrade-{COURSE}")
    check(groups["users"] == [INSTRUCTOR], f"formgrade-{COURSE} should hold the instructor alone: {groups['users']}")

    step("students have no formgrader and no Create Assignment; the service is closed to them")
    for student in students.values():
        student.request("GET", "/formgrader/api/status", expect=404)
        disabled = disabled_extensions(student)
        for extension in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"):
            check(extension in disabled, f"{student.name}'s JupyterLab loads {extension}: {disabled}")
        as_student = Client(student.name, student.token, f"/services/{COURSE}")
        as_student.request("GET", "/api/status", expect=403)
        as_student.request("GET", "/formgrader/api/status", expect=403)
    formgrader(instructor, "GET", "/status")
    disabled = disabled_extensions(instructor)
    check("@jupyter/nbgrader:formgrader" not in disabled, f"the course service's JupyterLab turns formgrader off: {disabled}")

    step("instructor: make release in the course folder (a kernel in the course service)")
    output = instructor.run(
        "import subprocess, os, stat\n"
        "r = subprocess.run(['make', 'release'], capture_output=True, text=True)\n"
        "print(r.stdout[-3000:], r.stderr[-3000:])\n"
        "print('EXIT', r.returncode)\n"
        "print('MODE', oct(stat.S_IMODE(os.stat('grading').st_mode)))\n"
        "import getpass; print('USER', getpass.getuser())\n", timeout=240)
    check(f"USER {INSTRUCTOR}\n" in output, f"the course service does not run as the instructor:\n{output}")
    check("EXIT 0" in output, f"make release failed:\n{output}")
    check("MODE 0o700" in output, f"make release left grading/ readable by others:\n{output}")

    step(f"instructor: release {LAB} to the exchange (formgrader's Release button)")
    formgrader(instructor, "POST", f"/assignment/{LAB}/release")

    step("students: the lab is listed in their Assignments tab; they fetch it")
    solution = json.loads((REPO / "solutions" / LAB / NOTEBOOK).read_text(encoding="utf-8"))
    right = answers_of(solution)
    check(sorted(right) == ["is-stable-answer", "largest-stable-lr-answer", "minibatches-answer", "sgd-answer",
                            "stable-lr-answer"], f"the lab's answer cells changed (update the expected grades): {sorted(right)}")
    written = {
        STUDENT_A: "The largest stable rate is just below 2/λmax = 0.2: the error along the steepest direction "
                   "is multiplied by 1 − αλ each step.",
        STUDENT_B: "It is about 0.2, I think.",
    }
    answers = {STUDENT_A: dict(right), STUDENT_B: dict(right, **{"minibatches-answer": UNSHUFFLED_MINIBATCHES})}
    for user, student in students.items():
        listed = assignment(student)
        check(listed is not None and listed["status"] == "released",
              f"{user} does not see {LAB} as released: {listed}")
        assignment_action(student, "fetch")
        fetched = assignment(student)
        check(fetched["status"] == "fetched", f"{user} could not fetch {LAB}: {fetched}")
        path = f"{LAB}/{NOTEBOOK}"
        answers[user]["stable-lr-answer"] = written[user]
        step(f"{user}: writes the answers into {path} (contents API) and submits")
        write_answers(student, path, answers[user])
        assignment_action(student, "submit")
        submitted = student.json("GET", "/assignments", params={"course_id": COURSE})["value"]
        check(any(a["assignment_id"] == LAB and a["status"] == "submitted" for a in submitted),
              f"{user}'s submission is not listed: {submitted}")

    step("instructor: collect (formgrader's Collect button)")
    formgrader(instructor, "POST", f"/assignment/{LAB}/collect")

    # the collected submissions, graded in place (they keep timestamp.txt and submission_secret.txt)
    command = ["make", "grade", f"LAB={LAB}", f"SUBMISSIONS={COURSE_DIR}/grading/submitted"]
    step(f"instructor: {' '.join(command)} (a kernel in the course service)")
    output = instructor.run(
        "import subprocess\n"
        f"r = subprocess.run({command!r}, capture_output=True, text=True)\n"
        "print(r.stdout[-4000:], r.stderr[-4000:])\n"
        "print('EXIT', r.returncode)\n", timeout=300)
    print("\n".join("    " + line for line in output.strip().splitlines()[-12:]))
    check(output.rstrip().endswith("EXIT 0"), f"grading failed:\n{output}")
    if "0 for this attempt" in output:  # say why, before the scores' check fails
        print(instructor.run(
            "import pathlib\n"
            f"for log in sorted(pathlib.Path({COURSE_DIR!r}, 'grading', 'reports', {LAB!r}, 'logs').glob('*.log')):\n"
            "    print(log.name, log.read_text()[-3000:])\n"))

    step("instructor: autograded scores, as formgrader shows them")
    for user, auto in ((STUDENT_A, A_AUTO), (STUDENT_B, B_AUTO)):
        score, max_score = submission_score(instructor, user)
        check((score, max_score) == (auto, MAX_SCORE), f"{user}: autograded {score}/{max_score}, expected {auto}/{MAX_SCORE}")

    step("instructor: grades the written answers by hand (formgrader's API)")
    notebooks = formgrader(instructor, "GET", f"/submitted_notebooks/{LAB}/{LAB}")
    by_student = {nb["student"]: nb for nb in notebooks}
    check(set(by_student) == {STUDENT_A, STUDENT_B}, f"formgrader lists {sorted(by_student)}")
    for user, manual in ((STUDENT_A, A_MANUAL), (STUDENT_B, B_MANUAL)):
        grades = formgrader(instructor, "GET", "/grades", params={"submission_id": by_student[user]["id"]})
        written_grade = [g for g in grades if g["name"] == "stable-lr-answer"]
        check(len(written_grade) == 1 and written_grade[0]["needs_manual_grade"],
              f"{user}: the written answer should wait for a manual grade: {written_grade}")
        formgrader(instructor, "PUT", f"/grade/{written_grade[0]['id']}", json={"manual_score": manual})
    expected = {STUDENT_A: A_AUTO + A_MANUAL, STUDENT_B: B_AUTO + B_MANUAL}
    for user, total in expected.items():
        score, max_score = submission_score(instructor, user)
        check((score, max_score) == (total, MAX_SCORE), f"{user}: {score}/{max_score}, expected {total}/{MAX_SCORE}")
        step(f"  {user}: {score:g}/{max_score:g}")

    step("instructor: generate and release feedback (formgrader's buttons)")
    formgrader(instructor, "POST", f"/assignment/{LAB}/generate_feedback")
    formgrader(instructor, "POST", f"/assignment/{LAB}/release_feedback")

    step("students: fetch their feedback; the page is in their own folder")
    for user, student in students.items():
        assignment_action(student, "fetch_feedback")
        folder = student.json("GET", f"/api/contents/{LAB}/feedback")
        pages = [item["path"] for stamp in folder["content"] if stamp["type"] == "directory"
                 for item in student.json("GET", f"/api/contents/{stamp['path']}")["content"]
                 if item["name"] == f"{LAB}.html"]
        check(len(pages) == 1, f"{user}: expected one feedback page in {LAB}/feedback/, found {pages}")
        html = student.json("GET", f"/api/contents/{pages[0]}", params={"content": 1, "format": "text"})["content"]
        text = re.sub(r"<[^>]+>", " ", html)
        total = f"{expected[user]:g}"
        check(re.search(rf"Score:\s*{re.escape(total)}(\.0+)?\s*/\s*{MAX_SCORE:g}(\.0+)?", text) is not None,
              f"{user}'s feedback page does not show {total} / {MAX_SCORE:g}")
        step(f"  {user}: {pages[0]} shows {total} / {MAX_SCORE:g}")

    step("privacy: each student tries, from a kernel in their own server, to read what is not theirs")
    for user, other in ((STUDENT_A, STUDENT_B), (STUDENT_B, STUDENT_A)):
        cannot_read(students[user], [
            f"{COURSE_DIR}/grading/submitted/{other}/{LAB}/{NOTEBOOK}",
            f"{COURSE_DIR}/grading/autograded/{other}/{LAB}/{NOTEBOOK}",
            f"{COURSE_DIR}/grading/feedback/{other}/{LAB}/{LAB}.html",
            f"{COURSE_DIR}/grading/gradebook.db",
            f"{COURSE_DIR}/grading",
            f"{COURSE_DIR}/solutions/{LAB}/{NOTEBOOK}",
            f"{COURSE_DIR}/solutions",
            f"{COURSE_DIR}/.git",
            f"/home/{other}/{LAB}/{NOTEBOOK}",
            f"{EXCHANGE}/{COURSE}/inbound",
            f"{EXCHANGE}/{COURSE}/feedback",
        ])
    output = instructor.run(
        "import os, stat\n"
        "for path in ['.', 'grading']:\n"
        "    print(path, oct(stat.S_IMODE(os.stat(path).st_mode)))\n")
    check(output.split() == [".", "0o700", "grading", "0o700"], f"the course folder or workspace is not 700: {output}")

    step(f"the loop passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
