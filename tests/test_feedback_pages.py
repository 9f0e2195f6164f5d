"""Feedback pages a student can use: nbgrader's ``generate_feedback`` with the course's configuration.

A temporary course folder holds a copy of ``nbgrader_config.py`` and lab 1's instructor notebook;
nbgrader's own API releases the lab, autogrades submissions made from the released notebook and
the instructor's answers (as tests/test_grading_pipeline.py makes them) and writes the pages. The
same pages must come from ``nbgrader generate_feedback`` on the command line, from formgrader's
"Generate feedback" (a Jupyter server started in the course folder) and from the course's grading
command. The maths is checked in headless Chromium with no network (skipped, saying why, where
there is no Chromium; CI sets OPTILAB_REQUIRE_BROWSER=1 to make that a failure). Expected texts are written here from the lab (its cells' ids, points and opening
comments), not read from the code under test.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from optilab.autograde.course import load_config, make_api, new_gradebook, private_folder

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab01_gradient_descent"

pytestmark = pytest.mark.slow

# Lab 1: six test cells worth 8 points, and a written answer (2 points) graded by hand.
TESTS = {  # grade_id -> (points, what its opening comment says it checks)
    "test-sgd-first-step": (1, "one step from an empty state"),
    "test-sgd-many-steps": (1, "many steps, the state carried along, an lr that changes"),
    "test-sgd-contract": (1, "shapes, dtypes, 0-d params, inputs left unchanged, the default hyperparameters "
                             "(a wrong default costs this point only)"),
    "test-minibatches-cover": (2, "Every example exactly once, in batches of batch_size"),
    "test-minibatches-seeded": (1, "The order is shuffled and reproducible from the seed"),
    "test-largest-stable-lr": (2, "The largest stable learning rate on the grid, and is_stable itself"),
}
WRITTEN = "stable-lr-answer"
AUTO, MANUAL = 8, 2


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _student(edit=None, written: str | None = "The steepest direction breaks first: 2/λ_max.") -> dict:
    """The released notebook with the instructor's code answers, a written answer, then ``edit(cells)``."""
    solution = _load(ROOT / "solutions" / LAB / f"{LAB}.ipynb")
    answers = {c["id"]: c["source"] for c in solution["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}
    nb = copy.deepcopy(_load(ROOT / "labs" / LAB / f"{LAB}.ipynb"))
    cells = {c["id"]: c for c in nb["cells"]}
    for cell_id, source in answers.items():
        cells[cell_id]["source"] = source
    if written is not None:
        cells[WRITTEN]["source"] = written
    if edit:
        edit(cells)
    return nb


def _in_place_sgd(cells):
    # Right values, but it changes the caller's array: the hidden "contract" group fails.
    cells["sgd-answer"]["source"] = ("def sgd(param, grad, state, *, lr=1e-2):\n"
                                     "    param -= lr * grad\n    return param, {}\n")


def _name_error_sgd(cells):
    cells["sgd-answer"]["source"] = ("def sgd(param, grad, state, *, lr=1e-2):\n"
                                     "    step = lr * gradient\n    return param - step, {}\n")


SUBMISSIONS = {
    "ada_right": _student(),
    "ben_in_place": _student(_in_place_sgd),
    "cy_name_error": _student(_name_error_sgd),
    "dee_no_essay": _student(written=None),       # the written answer left as released
    "eli_hand_graded": _student(),                # the instructor grades the written answer: 1.5 of 2
}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the course's nbgrader_config.py; every submission autograded and its page written."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / LAB, course / "solutions" / LAB)
    private_folder(course / "grading")  # as `make setup` leaves it: loading the config creates nothing
    api = make_api(load_config(course))
    new_gradebook(course / "grading" / "gradebook.db", api.coursedir.course_id)  # as `make grade` makes it
    released = api.generate_assignment(LAB, force=True)
    assert released["success"], released["log"]
    for student, nb in SUBMISSIONS.items():
        path = course / "grading" / "submitted" / student / LAB / f"{LAB}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb), encoding="utf-8")
        graded = api.autograde(LAB, student, force=True, create=True)
        assert graded["success"], graded["log"]
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        grade = gb.find_grade(WRITTEN, LAB, LAB, "eli_hand_graded")
        grade.manual_score = 1.5
        grade.needs_manual_grade = False
        gb.db.commit()
    autograded = course / "grading" / "autograded"
    before = _digest(autograded)
    for student in SUBMISSIONS:
        written = api.generate_feedback(LAB, student, force=True)
        assert written["success"], written["log"]
    return {"root": course, "api": api, "autograded_before": before}


def _page(course, student: str) -> str:
    return (course["root"] / "grading" / "feedback" / student / LAB / f"{LAB}.html").read_text(encoding="utf-8")


def _soup(course, student: str) -> BeautifulSoup:
    return BeautifulSoup(_page(course, student), "html.parser")


def _text(node) -> str:
    return re.sub(r"\s+", " ", node.get_text()).strip()


def _total(soup) -> str:
    return _text(soup.find(id="total"))


def _contents(soup) -> list[str]:
    return [_text(li) for li in soup.find(id="toc").find_all("li")]


def _cell(soup, grade_id: str):
    anchor = soup.find("a", attrs={"name": grade_id})
    assert anchor is not None, f"no anchor for {grade_id}"
    return anchor.find_parent("div", class_="cell")


def _error(soup, grade_id: str) -> str:
    block = _cell(soup, grade_id).select_one("div.output_error pre")
    assert block is not None, f"{grade_id} shows no error"
    return block.get_text()


# --- pending manual grades ---------------------------------------------------------------------

def test_an_ungraded_written_answer_is_pending_not_zero(course):
    soup = _soup(course, "ada_right")
    assert f"Written answer {WRITTEN} (pending manual grading, {MANUAL} points)" in _contents(soup)
    assert _total(soup) == (f"Score: {AUTO} / {AUTO} graded so far; {MANUAL} points pending manual grading "
                            f"({AUTO + MANUAL} in all)")
    header = _text(_cell(soup, WRITTEN).select_one(".panel-heading"))
    assert f"pending manual grading, {MANUAL} points" in header and "Score" not in header


def test_pending_points_are_left_out_of_what_was_graded(course):
    # The in-place sgd loses its contract group (1 point); the written answer is still pending.
    assert _total(_soup(course, "ben_in_place")).startswith(f"Score: {AUTO - 1} / {AUTO} graded so far; "
                                                            f"{MANUAL} points pending")


def test_a_hand_graded_answer_shows_its_score(course):
    soup = _soup(course, "eli_hand_graded")
    assert _total(soup) == f"Score: {AUTO + 1.5:g} / {AUTO + MANUAL}"
    assert f"Written answer {WRITTEN} (Score: 1.5 / 2)" in _contents(soup)
    assert "pending" not in _page(course, "eli_hand_graded").lower().replace("optilab-pending", "")


def test_an_unanswered_written_cell_scores_zero_and_is_not_pending(course):
    soup = _soup(course, "dee_no_essay")  # nbgrader scores an unchanged answer cell 0 by itself
    assert _total(soup) == f"Score: {AUTO} / {AUTO + MANUAL}"
    assert f"Written answer {WRITTEN} (Score: 0 / 2)" in _contents(soup)


# --- named test cells ----------------------------------------------------------------------------

def test_the_contents_name_every_test_cell(course):
    soup = _soup(course, "ben_in_place")
    lines = _contents(soup)
    for grade_id, (points, title) in TESTS.items():
        score = 0 if grade_id == "test-sgd-contract" else points
        assert f"Test {grade_id}: {title} (Score: {score} / {points})" in lines
    assert not [line for line in lines if line.startswith("Test cell")]


def test_each_test_cell_header_names_it(course):
    soup = _soup(course, "ada_right")
    for grade_id, (points, title) in TESTS.items():
        header = _text(_cell(soup, grade_id).select_one(".panel-heading"))
        assert header.startswith(f"Test {grade_id}: {title}") and f"Score: {points} / {points}" in header


# --- errors: the student's message first, no grader paths or frames -----------------------------

def _machine_paths(course) -> list[str]:
    paths = [str(ROOT), str(course["root"]), os.path.realpath(course["root"]), sys.prefix, str(Path.home())]
    return [path for path in paths if len(path.strip("/")) > 1]  # a home folder of / says nothing


def _assert_no_grader_paths(page: str, course) -> None:
    for path in _machine_paths(course):
        assert path not in page, f"the page shows the grading machine's path {path}"
    assert "site-packages" not in page


def test_a_failed_hidden_test_shows_its_message_first_and_whole(course):
    soup = _soup(course, "ben_in_place")
    shown = _error(soup, "test-sgd-contract")
    evidence = _load(course["root"] / "grading" / "autograded" / "ben_in_place" / LAB / f"{LAB}.ipynb")
    error = next(o for c in evidence["cells"] if c["id"] == "test-sgd-contract"
                 for o in c["outputs"] if o["output_type"] == "error")
    assert shown.lstrip().startswith(f"AssertionError: {error['evalue']}")  # the whole message, first
    assert "hidden tests of group 'contract' failed" in error["evalue"]
    assert "Traceback (most recent call last)" not in shown
    assert "runner.py" not in shown and "optilab/grading" not in shown


def test_an_error_in_the_students_code_says_which_line(course):
    """The verdict that was scored is the grader's (decided outside the kernel): the student's error
    first, with the line of their code, and no frame of the grader's."""
    shown = _error(_soup(course, "cy_name_error"), "test-sgd-first-step")
    lines = [line for line in shown.strip().splitlines() if line.strip()]
    assert lines[0].startswith("NameError: name 'gradient' is not defined")
    assert "line 2: step = lr * gradient" in shown
    assert "runner.py" not in shown and "site-packages" not in shown


def test_no_page_shows_the_grading_machines_paths(course):
    for student in SUBMISSIONS:
        _assert_no_grader_paths(_page(course, student), course)


# --- maths, offline ------------------------------------------------------------------------------

def test_mathjax_is_in_the_page_not_on_a_cdn(course):
    page = _page(course, "ada_right")
    soup = BeautifulSoup(page, "html.parser")
    remote = [tag.get("src") or tag.get("href") for tag in soup.find_all(["script", "link", "img"])
              if re.match(r"(https?:)?//", tag.get("src") or tag.get("href") or "")]
    assert remote == []
    assert "cdnjs" not in page and "MathJax 3.2.2" in page
    assert any(len(script.get_text()) > 1_000_000 and "MathJax" in script.get_text()
               for script in soup.find_all("script"))


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    message = ("no Chromium to open the page with (looked for $CHROMIUM, chromium, chromium-browser, google-chrome); "
               "Debian: apt-get install chromium")
    if os.environ.get("OPTILAB_REQUIRE_BROWSER"):
        pytest.fail(f"OPTILAB_REQUIRE_BROWSER is set but there is {message}")
    pytest.skip(message)


SCREENSHOT = ROOT / "build" / "screenshots" / "feedback_page.png"  # for a person to look at (git ignores build/)


def _offline_chromium(page: Path, profile: Path, *action: str) -> str:
    """Headless Chromium's output for ``page``, loaded from its file with every network request refused."""
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={profile}",
        # No network: every host name fails to resolve and every request goes to a proxy that is not there.
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--virtual-time-budget=30000", *action, page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_maths_renders_in_a_browser_with_no_network(course, tmp_path):
    page = course["root"] / "grading" / "feedback" / "ada_right" / LAB / f"{LAB}.html"
    student_copy = tmp_path / "downloads" / "feedback.html"  # as a student keeps it: the page alone
    student_copy.parent.mkdir()
    shutil.copy(page, student_copy)
    dom = BeautifulSoup(_offline_chromium(student_copy, tmp_path / "profile", "--dump-dom"), "html.parser")
    for script in dom.find_all(["script", "style"]):
        script.decompose()
    rendered = dom.find_all("mjx-container")
    # Lab 1's markdown writes its maths as $...$ and $$...$$: count them in the notebook itself.
    markdown = "".join("".join(c["source"]) for c in _load(ROOT / "labs" / LAB / f"{LAB}.ipynb")["cells"]
                       if c["cell_type"] == "markdown")
    expressions = len(re.findall(r"\$\$.+?\$\$|\$[^$]+?\$", markdown, flags=re.S))
    assert expressions >= 10 and len(rendered) >= expressions
    assert all(node.find("svg") is not None for node in rendered)
    assert dom.find("mjx-merror") is None and not dom.select("[data-mjx-error]")
    prose = " ".join(_text(node) for node in dom.select(".text_cell_render"))
    assert r"p \leftarrow p - \alpha" not in prose  # the lab's update rule, typeset rather than raw
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    _offline_chromium(student_copy, tmp_path / "profile", "--window-size=1200,1600", f"--screenshot={SCREENSHOT}")
    print(f"screenshot of the page, opened offline: {SCREENSHOT}")


# --- the same page from every way of making it -------------------------------------------------

def test_nbgraders_command_line_writes_the_same_page(course):
    api_page = _page(course, "ben_in_place")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", LAB, "--student", "ben_in_place",
                           "--force"], cwd=course["root"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _page(course, "ben_in_place") == api_page


def test_the_courses_grading_command_writes_the_same_pages(course, tmp_path):
    from optilab import autograde

    export = tmp_path / "export"
    (export / "ben_in_place").mkdir(parents=True)
    (export / "ben_in_place" / f"{LAB}.ipynb").write_text(json.dumps(SUBMISSIONS["ben_in_place"]), encoding="utf-8")
    run = autograde.grade_lab(LAB, export, out=tmp_path / "grading", root=course["root"], jobs=1,
                              timeout=30, progress=lambda _: None)
    graded = (run.workspace / "feedback" / "ben_in_place" / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(graded, "html.parser")
    assert _total(soup) == _total(_soup(course, "ben_in_place"))
    assert _contents(soup) == _contents(_soup(course, "ben_in_place"))
    assert _error(soup, "test-sgd-contract") == _error(_soup(course, "ben_in_place"), "test-sgd-contract")
    assert "cdnjs" not in graded and "site-packages" not in graded and str(tmp_path) not in graded


def test_formgraders_button_writes_the_same_page(course, tmp_path):
    """Formgrader's "Generate feedback" for one student: a Jupyter server started in the course folder, as instructors do."""
    import secrets
    import socket
    import time
    import urllib.error
    import urllib.request

    api_page = _page(course, "cy_name_error")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    jupyter = {name: str(tmp_path / name) for name in ("config", "data", "runtime")}
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
               JUPYTER_CONFIG_DIR=jupyter["config"], JUPYTER_DATA_DIR=jupyter["data"],
               JUPYTER_RUNTIME_DIR=jupyter["runtime"])
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={course['root']}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, cwd=course["root"], env=env, stdout=log, stderr=subprocess.STDOUT)

    def call(method: str, route: str) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{route}", method=method,
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    try:
        for _ in range(240):  # up to a minute for the server to answer
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                call("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.25)
        result = json.loads(call("POST", f"/formgrader/api/assignment/{LAB}/cy_name_error/generate_feedback"))
        assert result["success"], result.get("error") or result.get("log")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    assert _page(course, "cy_name_error") == api_page


def test_the_autograded_notebooks_are_left_as_they_were(course):
    # After every page above was written, by the API, the command line and formgrader.
    autograded = course["root"] / "grading" / "autograded"
    assert _digest(autograded) == course["autograded_before"]
    evidence = json.loads((autograded / "ben_in_place" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8"))
    assert evidence["metadata"]["optilab"]["outside_verdicts"] is True  # the scored verdicts are in it
    assert any(o.get("output_type") == "error" for c in evidence["cells"] for o in c.get("outputs", []))


# --- the rewriting itself, on IPython's traceback format ------------------------------------------

def test_traceback_rewriting_keeps_notebook_frames_and_drops_library_ones():
    from optilab.autograde.feedback import student_traceback

    traceback = [
        "\x1b[31m" + "-" * 75 + "\x1b[39m",
        "\x1b[31mValueError\x1b[39m                                Traceback (most recent call last)",
        "\x1b[36mCell In[7], line 3\x1b[39m\n      2 x = 1\n----> 3 train(rule)\n",
        "\x1b[36mFile /opt/course/.venv/lib/python3.11/site-packages/optilab/training.py:88\x1b[39m, in run()\n"
        "     87 g = f(p)\n---> 88 p, s = rule(p, g, s)\n",
        "\x1b[36mCell In[3], line 2, in rule(p, g, s)\x1b[39m\n----> 2     raise ValueError('bad')\n",
        "\x1b[31mValueError\x1b[39m: bad shape (3,)\nsecond line of the message",
    ]
    lines = student_traceback("ValueError", "bad shape (3,)\nsecond line of the message", traceback, {})
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
    assert plain[0] == "ValueError: bad shape (3,)\nsecond line of the message"
    text = "\n".join(plain)
    assert "Cell In[7], line 3" in text and "Cell In[3], line 2, in rule" in text
    assert text.index("Cell In[7]") < text.index("Cell In[3]")  # outermost first, as Python prints them
    assert "/opt/course" not in text and "training.py" not in text and "Traceback" not in text
    assert "1 frame inside library code not shown" in text


def test_a_syntax_errors_message_is_not_repeated_after_its_caret():
    from optilab.autograde.feedback import student_traceback

    traceback = ["  \x1b[36mCell In[1], line 2\x1b[39m\n    x = 1\n         ^\n"
                 "\x1b[31mSyntaxError\x1b[39m: incomplete input\n"]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line)
             for line in student_traceback("SyntaxError", "incomplete input (3188467100.py, line 2)", traceback)]
    assert plain[0] == "SyntaxError: incomplete input (3188467100.py, line 2)"
    assert "\n".join(plain).count("incomplete input") == 1 and "Cell In[1], line 2" in plain[3]


def test_path_hiding_shortens_whole_folders_only():
    from optilab.autograde.feedback import hide_paths

    folders = {"/srv/grading/autograded/ben/lab01": "", "/srv/course": "…/"}
    text = ("open('/srv/grading/autograded/ben/lab01/data.csv') in /srv/course/lib and /srv/course2/x; "
            "/usr/lib/python3/dist-packages/numpy/linalg.py")
    assert hide_paths(text, folders) == "open('data.csv') in …/lib and /srv/course2/x; numpy/linalg.py"


def test_a_test_cells_title_is_its_opening_comment_without_the_points():
    from optilab.autograde.feedback import cell_title

    assert cell_title('# Hidden tests, group "contract" of the adam suite (2 points): inputs left unchanged.\n'
                      "### BEGIN HIDDEN TESTS\n") == "inputs left unchanged"
    assert cell_title("# The largest stable learning rate (1.5 points).\nassert x") == "The largest stable learning rate"
    assert cell_title("# steps_needed counts the steps (2 points).\n") == "steps_needed counts the steps"
    assert cell_title("### BEGIN HIDDEN TESTS\nassert x\n") == ""
    assert cell_title("assert x == 1  # not a title\n") == ""



# --- templates compiled once per process ---------------------------------------------------------

def test_the_pages_are_the_same_from_nbconverts_own_exporter(course):
    """The course's exporter keeps each compiled template for the next page
    (optilab.autograde.feedback.exporter); nbconvert's HTMLExporter, which compiles them for
    every page, writes the same bytes."""
    from nbgrader.converters import GenerateFeedback

    from optilab.autograde.feedback.exporter import FeedbackExporter

    api = course["api"]
    assert GenerateFeedback(coursedir=api.coursedir, parent=api).exporter_class is FeedbackExporter
    pages = {student: _page(course, student) for student in SUBMISSIONS}
    config = copy.deepcopy(load_config(course["root"]))
    config.GenerateFeedback.exporter_class = "nbconvert.exporters.HTMLExporter"
    plain = make_api(config)
    for student in SUBMISSIONS:
        written = plain.generate_feedback(LAB, student, force=True)
        assert written["success"], written["log"]
        assert _page(course, student) == pages[student], student


def test_a_page_after_the_first_compiles_no_template_and_the_head_start_compiles_them_all(course):
    from nbgrader.converters import GenerateFeedback

    from optilab.autograde.feedback.exporter import COMPILED, compile_templates

    api = course["api"]
    COMPILED.clear()
    assert api.generate_feedback(LAB, "ada_right", force=True)["success"]
    first = COMPILED.compiled
    assert first >= 5  # ours, nbgrader's feedback, nbconvert's classic index and base, ...
    assert api.generate_feedback(LAB, "ben_in_place", force=True)["success"]
    assert COMPILED.compiled == first
    # What `make grade` compiles before it starts its workers is every template a page needs.
    COMPILED.clear()
    app = GenerateFeedback(coursedir=api.coursedir, parent=api)
    assert compile_templates(app.exporter_class(parent=app, config=app.config)) == first
    assert api.generate_feedback(LAB, "ada_right", force=True)["success"]
    assert COMPILED.compiled == first
