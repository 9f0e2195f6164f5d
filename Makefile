# optilab — the two commands a newcomer needs are `make start` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
# nbgrader runs `alembic` as a subprocess, so the venv's bin must be on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup start test test-browser test-hub release grade need-lab report feedback release-feedback bench clean

help:
	@echo "make start         set up (first time) and open JupyterLab at the start page"
	@echo "make test          set up with test extras and run the whole test suite"
	@echo "make setup         create .venv and install the course"
	@echo "make release       regenerate labs/ from solutions/ with nbgrader"
	@echo "make grade LAB=lab04 SUBMISSIONS=path   autograde a folder of submissions (or grading/submitted, in place)"
	@echo "make report LAB=lab04                   grades.csv and report.txt again from the gradebook"
	@echo "make feedback LAB=lab04                 feedback pages again, with the manual grades"
	@echo "make release-feedback LAB=lab04         put the feedback pages in nbgrader's exchange"
	@echo "make test-browser  drive JupyterLab in headless Chromium"
	@echo "make test-hub      one lab through a real JupyterHub (as root: creates Linux users)"
	@echo "make bench         measure speed (explorers also in Chromium); writes build/bench.json"
	@echo "make clean         remove .venv and build output (never grading/)"

# The stamp is rebuilt whenever pyproject.toml or this Makefile changes.
$(VENV)/.installed: pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "optilab needs Python >= 3.11; found " + sys.version.split()[0] + ". Install a newer Python or run: make PYTHON=python3.11 ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@# Every process that imports the course library loads it compiled, the sandboxed ones too (which
	@# cannot write bytecode): pip compiles what it installs, but not an editable install's source.
	$(PY) -m compileall -q lib/optilab >/dev/null
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	$(PY) -m optilab.isolate install >/dev/null
	@# Explorers' figures reach the browser at once (optilab/websocket.py says why).
	$(PY) -m optilab.websocket install >/dev/null
	@# nbgrader's own commands (and formgrader) open grading/gradebook.db: the folder must exist, private.
	$(PY) -c 'from optilab.autograde.course import private_folder; private_folder("grading")'
	@$(PY) -m optilab.isolate check
	touch $@

setup: $(VENV)/.installed

# JupyterLab refuses to run as root (as in many containers) unless told so.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# Serve the whole course (lessons and labs) and open the start page; passing the notebook as an
# argument instead would make lessons/ the server's root and hide labs/.
start: setup
	$(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb

# In parallel worker processes (pytest-xdist). tests/conftest.py refines --dist loadscope: modules whose
# tests share what the module computed once go to one worker whole, every other test on its own.
# PYTEST_ARGS adds options, e.g. make test PYTEST_ARGS="-n 0" for one process. (tests/conftest.py also
# gives every test process one BLAS thread, and says why.)
PYTEST_WORKERS ?= auto
test: setup
	MPLBACKEND=Agg $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

test-browser: setup
	bash tests/browser/run.sh

# A real JupyterHub with the recipe of docs/hub/ (needs root, Node.js and npm; see tests/hub/run.sh).
test-hub:
	@[ -f tests/hub/node_modules/.package-lock.json ] && [ tests/hub/node_modules/.package-lock.json -nt tests/hub/package-lock.json ] \
		|| npm ci --prefix tests/hub --no-audit --no-fund
	bash tests/hub/run.sh

release: setup
	$(PY) -m optilab release

grade: setup
	@test -n "$(LAB)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade LAB=lab04 SUBMISSIONS=path/to/submissions" >&2; exit 2; }
	$(PY) -m optilab grade $(LAB) "$(SUBMISSIONS)" $(GRADE_ARGS)

# The full name of LAB (lab04 -> lab04_adam_adamw), for nbgrader's own commands.
LAB_NAME = $(shell $(PY) -c 'import sys; from optilab.autograde.course import main; sys.exit(main(sys.argv[1:]))' "$(LAB)")
need-lab:
	@test -n "$(LAB)" || { echo "usage: make $(MAKECMDGOALS) LAB=lab04" >&2; exit 2; }
	@$(PY) -c 'import sys; from optilab.autograde.course import main; sys.exit(main(sys.argv[1:]))' "$(LAB)" >/dev/null

report: setup need-lab
	$(PY) -m optilab report $(LAB)

feedback: setup need-lab
	$(BIN)/nbgrader generate_feedback $(LAB_NAME) --force
	$(PY) -m optilab report $(LAB)

release-feedback: setup need-lab
	$(BIN)/nbgrader release_feedback $(LAB_NAME)

bench: setup
	@$(PY) -c "import torch, lion_pytorch, schedulefree" 2>/dev/null || { echo "installing tests/reference-requirements.txt (test-only) to compare with"; $(PY) -m pip install --quiet -r tests/reference-requirements.txt; }
	MPLBACKEND=Agg $(PY) -m bench

# Never grading/: it holds the gradebook, manual grades and submissions. Only what can be rebuilt goes.
clean:
	rm -rf $(VENV) build .pytest_cache grading/.cache
