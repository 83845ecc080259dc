"""The repository installs the same way everywhere: pip (pyproject.toml), conda/Binder
(environment.yml + postBuild), CI (.ci/run -> make test)."""

import os
import re
import tomllib

import pytest

from conftest import REPO

# A mutation-test copy holds only the code, tests and data; the packaging files live in the
# real checkout (which has .git). There every test here runs, so a lost file still fails.
if not (REPO / ".git").exists() and not (REPO / "environment.yml").exists():
    pytest.skip("not a full checkout of the repository (no .git, no environment.yml)",
                allow_module_level=True)


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec):
    """'numpy>=1.20' / 'numpy=2.4' / 'numpy [extra]' -> 'numpy'."""
    return normalise(re.split(r"[\s<>=!~\[;]", spec.strip(), maxsplit=1)[0])


def environment_yml_packages(text):
    """Package names listed under `dependencies:` (and under a nested `- pip:`), by hand:
    PyYAML is not a dependency. Comments and blank lines are skipped."""
    names, in_deps = [], False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith((" ", "-")):            # a top-level key
            in_deps = line.strip() == "dependencies:"
            continue
        item = line.strip()
        if in_deps and item.startswith("- "):
            item = item[2:].strip()
            if item.endswith(":"):                     # "- pip:" opens a nested list
                continue
            names.append(requirement_name(item))
    return names


def test_environment_yml_parser_reads_a_nested_pip_list():
    text = "name: x\n# c\ndependencies:\n  - python=3.11\n  - NumPy>=2  # fast\n  - pip\n" \
           "  - pip:\n    - some_pkg==1.0\nchannels:\n  - conda-forge\n"
    assert environment_yml_packages(text) == ["python", "numpy", "pip", "some-pkg"]


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pip_names = {requirement_name(s) for s in project["dependencies"]}
    conda_names = set(environment_yml_packages((REPO / "environment.yml").read_text(
        encoding="utf-8"))) - {"python", "pip"}
    assert "numpy" in pip_names
    assert conda_names == pip_names


def test_pyproject_installs_the_core_module():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "charrnn_core" in project["tool"]["setuptools"]["py-modules"]
    assert (REPO / "charrnn_core.py").is_file()


def test_postbuild_is_executable_and_pip_installs_the_repo():
    path = REPO / "postBuild"
    assert path.is_file() and os.access(path, os.X_OK)
    commands = [line.split("#", 1)[0] for line in path.read_text().splitlines()]
    assert any(re.search(r"\bpip install\b.*\s\.(\s|$)", c) for c in commands), commands


def test_ci_runs_make_test():
    path = REPO / ".ci" / "run"
    assert path.is_file() and os.access(path, os.X_OK)
    commands = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    assert "make test" in commands


def test_the_bundled_corpora_are_there():
    for name in ("tiny.txt", "shakespeare.txt"):
        text = (REPO / "data" / name).read_text(encoding="utf-8")
        assert len(set(text)) >= 2


SKIP_DIRS = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", "build", ".pytest_cache"}
CODE_SUFFIXES = {".py", ".ipynb", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".json"}
CODE_NAMES = {"Makefile", "postBuild", "run"}


def code_files():
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for f in files:
            if os.path.splitext(f)[1] in CODE_SUFFIXES or f in CODE_NAMES:
                yield os.path.join(folder, f)


def test_nothing_in_the_repo_reads_the_shared_folder_outside_it():
    # the shared notes live beside the repo and are not part of the product
    needles = [".." + "/shared", "/work/" + "shared", "os.pardir, " + "'shared'"]
    offenders = []
    for path in code_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        offenders += [f"{os.path.relpath(path, REPO)}: {n}" for n in needles if n in text]
    assert not offenders


def test_readme_mentions_make_test_and_make_lab():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make test" in text and "make lab" in text


def test_readme_binder_badge_opens_the_first_notebook_in_jupyterlab():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    first = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))[0]
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\)", text)
    assert badge, "no Binder link in the README"
    assert badge.group(0).endswith(f"?urlpath=lab/tree/notebooks/{first})")


def test_binder_start_script_is_executable_and_hands_over():
    start = REPO / "start"
    assert os.access(start, os.X_OK)
    assert 'exec "$@"' in start.read_text(encoding="utf-8")
