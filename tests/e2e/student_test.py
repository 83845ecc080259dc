"""The student edition (`make student`) and the solutions of the committed notebooks.

    make student-test   # builds student/, then runs:
    .venv/bin/python -m pytest tests/e2e/student_test.py -p no:nbval

Not collected by `make unit` (it sits in tests/e2e/, which `make unit` leaves out, and its name
does not start with test_): it executes every student notebook, which takes as long as nbval.

- The committed notebooks: every one tags its solution cells `solution`; after the solutions ran,
  every exercise's check printed "correct", none "not answered yet".
- The student edition: the same notebooks less exactly the solution cells, with no output left;
  copied to a folder outside the repository (as a teacher hands it out), every notebook runs top to
  bottom without an error, and every exercise's check prints "not answered yet".
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]  # tests/e2e/<this file> -> the repository
STUDENT = REPO / "student"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
SOLUTION_TAG = "solution"
TIMEOUT = 600  # seconds per cell

# What nbtools' @exercise prints: "Exercise 3: correct ✓ ..." or "Exercise 3: not answered yet".
VERDICT_RE = re.compile(r"^(?P<title>[^\n:]*Exercise[^\n:]*): (?P<verdict>correct|not answered yet)",
                        re.M)


def is_solution(cell):
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def printed(cell):
    """Everything a code cell printed (stream outputs)."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def verdicts(cells):
    """[(title, verdict), ...] printed by these cells, in order."""
    return [(m["title"].strip(), m["verdict"]) for c in cells if c.cell_type == "code"
            for m in VERDICT_RE.finditer(printed(c))]


def read(path):
    return nbformat.read(path, as_version=4)


def exercise_titles(path):
    """The exercises of a committed notebook: the titles its solution cells report correct."""
    return {t for t, v in verdicts([c for c in read(path).cells if is_solution(c)])
            if v == "correct"}


ids = [p.stem[:2] for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS


# ------------------------------------------------------------ the committed notebooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_notebook_tags_its_solutions_and_every_check_passes(path):
    nb = read(path)
    solutions = [c for c in nb.cells if is_solution(c)]
    assert solutions, f"{path.name}: no cell is tagged '{SOLUTION_TAG}' (cell metadata tags)"
    asked = {t for t, v in verdicts([c for c in nb.cells if not is_solution(c)])}
    answered = verdicts(solutions)
    unanswered = [t for t, v in answered if v != "correct"]
    assert not unanswered, f"{path.name}: solution cells print 'not answered yet' for {unanswered}"
    correct = {t for t, v in answered}
    assert correct, f"{path.name}: no solution cell printed an exercise check saying 'correct'"
    assert asked <= correct, f"{path.name}: exercises without a solution that passes: " \
                             f"{sorted(asked - correct)}"


# ------------------------------------------------------------ the student edition


@pytest.fixture(scope="session")
def handout(tmp_path_factory):
    """A copy of student/ outside the repository, as a teacher hands it out."""
    if not STUDENT.is_dir():
        pytest.fail("no student/ folder: run `make student` first")
    copy = tmp_path_factory.mktemp("handout") / "student"
    shutil.copytree(STUDENT, copy)
    return copy


def test_student_edition_has_every_notebook_and_what_they_need():
    assert sorted(p.name for p in STUDENT.glob("[0-9]*.ipynb")) == [p.name for p in NOTEBOOKS]
    # every checkpoint file make student ships: the models (safetensors) and the recall sweep (json)
    checkpoints = [f"checkpoints/{p.name}" for p in sorted((REPO / "checkpoints").iterdir())
                   if p.suffix in (".safetensors", ".json")]
    assert any(c.endswith(".safetensors") for c in checkpoints), "no checkpoints/*.safetensors"
    for needed in ("nbtools.py", "charrnn_core.py", "charrnn_io.py", "data/shakespeare.txt",
                   *checkpoints):
        assert (STUDENT / needed).is_file(), f"student/{needed} is missing"
    shipped = sorted(f"checkpoints/{p.name}" for p in (STUDENT / "checkpoints").iterdir())
    assert shipped == checkpoints, "student/checkpoints/ must hold exactly those files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_student_notebook_is_the_notebook_without_solutions_or_outputs(path):
    student, committed = read(STUDENT / path.name), read(path)
    assert not [c for c in student.cells if is_solution(c)], "a solution cell survived"
    with_output = [i for i, c in enumerate(student.cells)
                   if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not with_output, f"cells {with_output} still have outputs"
    assert "widgets" not in student.metadata, "saved widget state survived"
    assert [c.source for c in student.cells] == \
           [c.source for c in committed.cells if not is_solution(c)], \
           "the student edition must drop exactly the solution cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_student_notebook_runs_and_every_check_says_not_answered_yet(path, handout):
    nb = read(handout / path.name)
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(handout)}}).execute()  # raises on error
    said = verdicts(nb.cells)
    assert said, f"{path.name}: no exercise check ran"
    answered = sorted({t for t, v in said if v != "not answered yet"})
    assert not answered, f"{path.name}: checks that did not say 'not answered yet': {answered}"
    missing = exercise_titles(path) - {t for t, v in said}
    assert not missing, f"{path.name}: exercises whose check never ran: {sorted(missing)}"
