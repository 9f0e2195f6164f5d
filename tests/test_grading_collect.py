"""Finding each student's notebook in an export, without running nbgrader."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from optilab.autograde import audit, collect

LAB = "lab04_adam_adamw"


def _nb(*grade_ids: str, source: str = "x = 1") -> str:
    cells = [{"cell_type": "code", "id": gid, "metadata": {"nbgrader": {"grade_id": gid, "locked": True,
                                                                         "grade": True, "solution": False}},
              "source": source, "outputs": [], "execution_count": None} for gid in grade_ids]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _stage(tmp_path: Path, make) -> collect.Submission:
    export = tmp_path / "export"
    export.mkdir()
    make(export)
    [sub] = collect.find_submissions(export)
    collect.stage(sub, LAB, tmp_path / "submitted", {"test-a", "test-b"})
    return sub


def test_a_folder_with_the_lab_notebook_at_any_depth(tmp_path):
    def make(export):
        (export / "alice" / "work" / LAB).mkdir(parents=True)
        (export / "alice" / "work" / LAB / f"{LAB}.ipynb").write_text(_nb("test-a"))
        (export / "alice" / "work" / LAB / "timestamp.txt").write_text("2026-01-01 12:00:00 UTC")
    sub = _stage(tmp_path, make)
    assert sub.problem is None and sub.notes == []
    staged = tmp_path / "submitted" / "alice" / LAB
    assert sorted(p.name for p in staged.iterdir()) == [f"{LAB}.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert (staged / "timestamp.txt").read_text() == "2026-01-01 12:00:00 UTC"


def test_another_labs_notebook_is_not_taken_for_this_one(tmp_path):
    def make(export):
        (export / "bob").mkdir()
        (export / "bob" / "lab03_adagrad_rmsprop.ipynb").write_text(_nb("test-a"))
    sub = _stage(tmp_path, make)
    assert sub.problem == f"no notebook for {LAB} (found only lab03_adagrad_rmsprop.ipynb)"


def test_of_several_renamed_notebooks_the_one_with_the_labs_cells_is_graded(tmp_path):
    def make(export):
        (export / "cy").mkdir()
        (export / "cy" / "Untitled.ipynb").write_text(_nb("test-a", "test-b"))
        (export / "cy" / "scratch.ipynb").write_text(_nb())
    sub = _stage(tmp_path, make)
    assert sub.problem is None
    assert sub.notes[0].startswith("notebook 'Untitled.ipynb' was renamed") and "most of this lab's cells" in sub.notes[0]
    assert sub.notes[1].startswith("ignored scratch.ipynb")
    staged = json.loads((tmp_path / "submitted" / "cy" / LAB / f"{LAB}.ipynb").read_text())
    assert [c["id"] for c in staged["cells"]] == ["test-a", "test-b"]


def test_a_zip_that_escapes_its_folder_is_not_followed(tmp_path):
    def make(export):
        with zipfile.ZipFile(export / "dee.zip", "w") as archive:
            archive.writestr(f"../../{LAB}.ipynb", _nb("test-a"))
    sub = _stage(tmp_path, make)
    assert sub.problem == f"no notebook for {LAB}"
    assert not (tmp_path / f"{LAB}.ipynb").exists()


def test_a_broken_zip_and_a_broken_notebook_get_a_reason(tmp_path):
    export = tmp_path / "export"
    (export / "fay").mkdir(parents=True)
    (export / "eve.zip").write_bytes(b"PK\x03\x04 truncated")
    (export / "fay" / f"{LAB}.ipynb").write_text('{"cells": 3}')
    subs = collect.find_submissions(export)
    for sub in subs:
        collect.stage(sub, LAB, tmp_path / "submitted", set())
    assert [s.student for s in subs] == ["eve", "fay"]
    assert "not a readable zip file" in subs[0].problem
    assert "not a readable notebook" in subs[1].problem


def test_student_ids_are_made_safe_and_duplicates_reported(tmp_path):
    export = tmp_path / "export"
    (export / "Ann Lee").mkdir(parents=True)
    (export / "Ann_Lee.ipynb").write_text(_nb())
    (export / ".DS_Store").write_text("")
    [sub] = collect.find_submissions(export)
    assert sub.student == "Ann_Lee"
    assert any("made from 'Ann Lee'" in n for n in sub.notes)
    assert any("also found Ann_Lee.ipynb" in n for n in sub.notes)


def test_nbgraders_course_layout_is_read_from_its_submitted_folder(tmp_path):
    (tmp_path / "course" / "submitted" / "gus" / LAB).mkdir(parents=True)
    assert [s.student for s in collect.find_submissions(tmp_path / "course")] == ["gus"]


def test_audit_names_deleted_and_edited_cells(tmp_path):
    release, submitted = tmp_path / "release.ipynb", tmp_path / "submitted.ipynb"
    release.write_text(_nb("test-a", "test-b", source="assert f(1) == 2"))
    edited = json.loads(_nb("test-a", source="pass"))
    submitted.write_text(json.dumps(edited))
    assert audit.cell_changes(release, submitted) == [
        "edited test cell test-a (restored from the gradebook before grading)", "deleted test cell test-b"]


def test_a_second_notebook_is_reported_and_a_newer_one_flagged(tmp_path):
    """Found when tried: a newer second notebook was ignored without a note and the older one graded."""
    import os

    def make(export):
        (export / "hal").mkdir()
        (export / "hal" / f"{LAB}.ipynb").write_text(_nb("test-a"))
        (export / "hal" / f"{LAB} (1).ipynb").write_text(_nb("test-a", "test-b"))
        os.utime(export / "hal" / f"{LAB}.ipynb", (1_700_000_000, 1_700_000_000))
        os.utime(export / "hal" / f"{LAB} (1).ipynb", (1_700_003_600, 1_700_003_600))
    sub = _stage(tmp_path, make)
    assert sub.problem is None
    [note] = [n for n in sub.notes if n.startswith("ignored")]
    assert f"{LAB} (1).ipynb" in note and "NEWER" in note


def test_an_upload_without_exchange_files_gets_them_so_release_feedback_works(tmp_path):
    """Found when tried: LMS uploads had no timestamp.txt and release_feedback failed for the lab."""
    import os

    def make(export):
        (export / "ivy").mkdir()
        (export / "ivy" / f"{LAB}.ipynb").write_text(_nb("test-a"))
        os.utime(export / "ivy" / f"{LAB}.ipynb", (1_767_225_600, 1_767_225_600))  # 2026-01-01 00:00 UTC
    sub = _stage(tmp_path, make)
    staged = tmp_path / "submitted" / "ivy" / LAB
    assert (staged / "timestamp.txt").read_text().startswith("2026-01-01 00:00:00")
    assert len((staged / "submission_secret.txt").read_text()) >= 16
    assert "submission time taken from the file's modification time" in sub.notes


def test_restaging_never_deletes_an_earlier_copy(tmp_path):
    export = tmp_path / "export"
    (export / "jay").mkdir(parents=True)
    (export / "jay" / f"{LAB}.ipynb").write_text(_nb("test-a"))
    submitted = tmp_path / "ws" / "submitted"
    [sub] = collect.find_submissions(export)
    collect.stage(sub, LAB, submitted, set())
    secret = (submitted / "jay" / LAB / "submission_secret.txt").read_text()
    first = (submitted / "jay" / LAB / f"{LAB}.ipynb").read_bytes()
    [same] = collect.find_submissions(export)  # the same upload again: nothing moves
    collect.stage(same, LAB, submitted, set())
    assert not (tmp_path / "ws" / "archive").exists()
    (export / "jay" / f"{LAB}.ipynb").write_text(_nb("test-a", "test-b"))
    [newer] = collect.find_submissions(export)
    collect.stage(newer, LAB, submitted, set())
    [kept] = list((tmp_path / "ws" / "archive" / "jay" / LAB).iterdir())
    assert (kept / f"{LAB}.ipynb").read_bytes() == first
    assert any("replaced an earlier copy" in n for n in newer.notes)
    assert (submitted / "jay" / LAB / "submission_secret.txt").read_text() == secret  # stable across regrades


def test_in_place_submissions_are_only_read(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "kai" / LAB).mkdir(parents=True)
    (submitted / "kai" / LAB / f"{LAB}.ipynb").write_text(_nb("test-a"))
    (submitted / "lee" / LAB).mkdir(parents=True)
    (submitted / "lee" / LAB / "Untitled.ipynb").write_text(_nb("test-a"))
    (submitted / "may" / "lab03_adagrad_rmsprop").mkdir(parents=True)
    before = {p: p.read_bytes() for p in submitted.rglob("*") if p.is_file()}
    subs = collect.find_in_place(submitted, LAB)
    assert [s.student for s in subs] == ["kai", "lee"]
    for sub in subs:
        collect.check_in_place(sub, LAB)
    assert subs[0].problem is None and subs[0].notebook == submitted / "kai" / LAB / f"{LAB}.ipynb"
    assert "found Untitled.ipynb" in subs[1].problem and "graded in place" in subs[1].problem
    assert {p: p.read_bytes() for p in submitted.rglob("*") if p.is_file()} == before
