"""Lab 5 as students hand it in: correct variants and the mistakes the experiment is about.

Each notebook is the released lab filled with the instructor's answers, then the student's own
answers (by cell id). Its autograded points (out of 10: curves 1 + 2, interval 1, tuning 3,
best_lr 1, final 2) are worked out by hand below. Where a score depends on which learning rate a
mistaken procedure picks, that choice was worked out separately with ``training.train`` (not
with the grader's checks) and is written beside the case: on this split, choosing on the test
set picks the 4th grid value for momentum and Adam (and the 3rd, the right one, for SGD); one
seed picks the 4th for SGD and the 5th for momentum and Adam; training on the validation set
too picks the 5th (the largest) for all three.
"""

from __future__ import annotations

import json

import pytest

from optilab.grading.labs import lab05
from tests.test_outside_verdicts import LAB5, _judge, _solution, _student
from optilab.grading.verdicts import _is_test_cell, tampering_notes

pytestmark = pytest.mark.slow

_TUNING_ON = ("def final_validation_loss(name, lr, seed):\n"
              "    history = training.train(name, mlp, {data}, epochs=EPOCHS, lr=lr, seed=seed)\n"
              "    return np.inf if history.diverged else float(history.test_loss[-1])\n\n\n"
              "tuning_losses = {{name: {{lr: np.array([final_validation_loss(name, lr, s) for s in {seeds}]) "
              "for lr in grid}}\n"
              "                 for name, grid in GRIDS.items()}}\n"
              "best_lr = {{name: min(losses, key=lambda lr: losses[lr].mean()) for name, losses in tuning_losses.items()}}\n")

_FINAL = ("final = {{}}\n"
          "for name in ('sgd', 'momentum', 'adam'):\n"
          "    runs = [training.train(name, mlp, {data}, epochs=EPOCHS, lr={lr}, seed=s) for s in {seeds}]\n"
          "    final[name] = {{{train!r}: np.array([np.inf if h.diverged else h.train_loss[-1] for h in runs]),\n"
          "                   {test!r}: np.array([np.inf if h.diverged else h.test_loss[-1] for h in runs])}}\n")


def _final(data="testing", lr="best_lr[name]", seeds="SEEDS", train="train", test="test") -> str:
    return _FINAL.format(data=data, lr=lr, seeds=seeds, train=train, test=test)


#: Unusual but correct: the student's own rules everywhere (they follow the references to
#: round-off), explicit loops, statistics.stdev, np.argmin, a Split-free tuple built again.
OWN_RULES = {
    "interval-answer": ("import math\nimport statistics\n\n\ndef interval(values):\n"
                        "    values = [float(v) for v in values]\n"
                        "    n = len(values)\n"
                        "    return statistics.fmean(values), T95[n] * statistics.stdev(values) / math.sqrt(n)\n"),
    "tuning-answer": ("tuning_losses, best_lr = {}, {}\n"
                      "for name in ('sgd', 'momentum', 'adam'):\n"
                      "    tuning_losses[name] = {}\n"
                      "    for lr in GRIDS[name]:\n"
                      "        finals = []\n"
                      "        for seed in SEEDS:\n"
                      "            h = training.train(yours[name], mlp, (X_fit, dev.y_train, X_val, dev.y_test),\n"
                      "                               epochs=EPOCHS, lr=lr, seed=seed)\n"
                      "            finals.append(h.test_loss[-1] if not h.diverged else np.inf)\n"
                      "        tuning_losses[name][lr] = np.array(finals)\n"
                      "    means = [tuning_losses[name][lr].mean() for lr in GRIDS[name]]\n"
                      "    best_lr[name] = GRIDS[name][int(np.argmin(means))]\n"),
    "final-answer": ("final = {}\n"
                     "for name in ('sgd', 'momentum', 'adam'):\n"
                     "    train_l, test_l = [], []\n"
                     "    for seed in SEEDS:\n"
                     "        h = training.train(yours[name], mlp, testing, epochs=EPOCHS, lr=best_lr[name], seed=seed)\n"
                     "        train_l.append(h.train_loss[-1])\n"
                     "        test_l.append(h.test_loss[-1])\n"
                     "    final[name] = {'test': np.array(test_l), 'train': np.array(train_l)}\n"),
}

#: Unusual but correct interval: a list in, a tuple of NumPy scalars out, the variance by hand.
BY_HAND = {
    "interval-answer": ("def interval(values):\n"
                        "    x = np.array(values)\n"
                        "    m = x.sum() / x.size\n"
                        "    var = ((x - m) ** 2).sum() / (x.size - 1)\n"
                        "    return m, T95[x.size] * np.sqrt(var / x.size)\n"),
}

STUDENTS = {  # student -> (answers, autograded points, the cells that fail)
    "ada_solution": ({}, 10, []),
    "bo_own_rules": (OWN_RULES, 10, []),
    "cy_by_hand": (BY_HAND, 10, []),
    # tuning measured on the test set: tuning 0/3; the test set picks the 4th lr for momentum and
    # Adam, not the validation's 3rd: best_lr 0/1; final at those lrs, done right: 2/2.
    "dee_chose_on_test": ({"tuning-answer": _TUNING_ON.format(data="testing", seeds="SEEDS")}, 6,
                          ["test-tuning", "test-best-lr"]),
    # one seed: arrays of one loss (0/3), the 4th/5th lrs (0/1), final with one seed (0/2).
    "eve_one_seed": ({"tuning-answer": _TUNING_ON.format(data="tuning", seeds="(0,)"),
                      "final-answer": _final(seeds="(0,)")}, 4, ["test-tuning", "test-best-lr", "test-final"]),
    # trained on fit + validation, measured on validation: 0/3, the largest lrs (0/1), final right.
    "fay_trained_on_validation": (
        {"tuning-answer": "leaky = (np.vstack([X_fit, X_val]), np.concatenate([dev.y_train, dev.y_test]), X_val, dev.y_test)\n"
                          + _TUNING_ON.format(data="leaky", seeds="SEEDS")}, 6, ["test-tuning", "test-best-lr"]),
    # the population standard deviation (ddof=0): the interval only.
    "gus_ddof0": ({"interval-answer": ("def interval(values):\n    values = np.asarray(values, dtype=float)\n"
                                       "    return values.mean(), T95[len(values)] * values.std() / np.sqrt(len(values))\n")},
                  9, ["test-interval"]),
    # the normal quantile instead of Student's t: the interval only.
    "hal_normal_quantile": ({"interval-answer": ("def interval(values):\n    values = np.asarray(values, dtype=float)\n"
                                                 "    return values.mean(), 1.96 * values.std(ddof=1) / np.sqrt(len(values))\n")},
                            9, ["test-interval"]),
    # max instead of min: the worst lr; final at it is still done right (2/2).
    "ivy_argmax": ({"tuning-answer": _TUNING_ON.format(data="tuning", seeds="SEEDS").replace("min(losses", "max(losses")},
                   9, ["test-best-lr"]),
    # final trained on tuning (no validation examples, validation as "test").
    "jon_final_on_tuning": ({"final-answer": _final(data="tuning")}, 8, ["test-final"]),
    # final at the hand-picked LRS of section 3, not at the chosen lr.
    "kim_final_at_lrs": ({"final-answer": _final(lr="LRS[name]")}, 8, ["test-final"]),
    # train and test swapped.
    "lou_swapped": ({"final-answer": _final(train="test", test="train")}, 8, ["test-final"]),
    # other keys for histories ("mine sgd", "ref sgd"): the curves' 3 points.
    "mia_other_keys": ({"curves-answer": (
        "histories = {}\n"
        "for name in ('sgd', 'momentum', 'adam'):\n"
        "    histories[f'mine {name}'] = training.train(yours[name], mlp, tuning, epochs=EPOCHS, lr=LRS[name], seed=0)\n"
        "    histories[f'ref {name}'] = training.train(name, mlp, tuning, epochs=EPOCHS, lr=LRS[name], seed=0)\n")},
        7, ["test-reference-curves", "test-your-curves"]),
}

POINTS = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
          for c in _solution(LAB5).cells if _is_test_cell(c)}


def test_the_points_add_up_to_the_cases_arithmetic():
    assert POINTS == {"test-reference-curves": 1, "test-your-curves": 2, "test-interval": 1, "test-tuning": 3,
                      "test-best-lr": 1, "test-final": 2}
    for student, (_, points, failing) in STUDENTS.items():
        assert points == 10 - sum(POINTS[c] for c in failing), student


#: What the failed cells' messages say, in the students' terms: cell -> words its message holds.
MESSAGES = {
    "dee_chose_on_test": {"test-tuning": ("expected the final validation losses", "train on tuning"),
                          "test-best-lr": ("best_lr['momentum']", "lowest mean final validation loss")},
    "eve_one_seed": {"test-tuning": ("one final loss per seed in SEEDS",),
                     "test-final": ("one value per seed in SEEDS",)},
    "gus_ddof0": {"test-interval": ("sample standard deviation (ddof=1)",)},
    "kim_final_at_lrs": {"test-final": ("at best_lr['sgd']",)},
    "mia_other_keys": {"test-reference-curves": ("histories has no key 'reference sgd'",),
                       "test-your-curves": ("'your sgd'",)},
}


@pytest.mark.parametrize("student", list(STUDENTS))
def test_each_lab05_student_gets_exactly_their_points_and_messages_in_their_terms(student, tmp_path):
    answers, points, failing = STUDENTS[student]
    verdicts = _judge(_student(LAB5, answers), tmp_path, LAB5)
    messages = {g: v[2] for g, v in verdicts.items() if not v[0]}
    assert sorted(messages) == sorted(failing), messages
    assert sum(POINTS[g] for g, v in verdicts.items() if v[0]) == points
    for cell, words in MESSAGES.get(student, {}).items():
        for word in words:
            assert word in messages[cell], (cell, word, messages[cell])


def test_the_messages_are_checked_on_failed_cells_and_on_every_graded_cell():
    assert set(MESSAGES) <= set(STUDENTS)
    assert all(set(cells) <= set(STUDENTS[student][2]) for student, cells in MESSAGES.items())
    assert {cell for cells in MESSAGES.values() for cell in cells} == set(POINTS)  # every graded cell's message


def test_the_grids_bracket_the_chosen_learning_rate():
    """The reference's choice is inside every grid, and its neighbours are worse on average."""
    for name, grid in lab05.GRIDS.items():
        means = [lab05.validation_losses(name, lr).mean() for lr in grid]
        best = lab05.best_lrs(name)
        assert len(best) == 1 and best[0] not in (grid[0], grid[-1]), (name, means)
        i = grid.index(best[0])
        assert means[i] < means[i - 1] and means[i] < means[i + 1], (name, means)


def test_make_grade_gives_the_same_points_and_no_tampering_note_to_honest_mistakes(tmp_path):
    """Through ``make grade`` (nbgrader's kernel, then the grader's verdicts): the kernel's hidden
    tests and the grader agree on every cell of these students. (The solution goes through
    ``make grade`` in test_outside_verdicts.test_make_grade_scores_the_outside_verdicts, which also
    checks that its kernel read the reference runs make grade computed for the class.)"""
    from optilab.autograde import grade_lab

    chosen = ["dee_chose_on_test", "eve_one_seed", "ivy_argmax", "lou_swapped"]
    export = tmp_path / "export"
    for student in chosen:
        folder = export / student
        folder.mkdir(parents=True)
        (folder / f"{LAB5}.ipynb").write_text(json.dumps(_student(LAB5, STUDENTS[student][0])), encoding="utf-8")
    out = tmp_path / "ws"
    grade_lab(LAB5, export, out=out, timeout=20)
    import csv

    with open(out / "reports" / LAB5 / "grades.csv", newline="") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert scores == {s: float(STUDENTS[s][1]) for s in chosen}
    for student in chosen:
        assert tampering_notes(out / "autograded" / student / LAB5 / f"{LAB5}.ipynb") == [], student
