"""The repository installs the same way everywhere: pip (pyproject.toml), conda/Binder
(environment.yml + postBuild), CI (.ci/run -> make test)."""

import os
import re
import shlex
import subprocess
import sys
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


def locked_versions(name):
    """{package: version} pinned by the lock file ``name`` (every line ``pkg==version ...``)."""
    text = (REPO / name).read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.M)
    assert pins and text.count("--hash=sha256:") >= len(pins), f"{name}: no pins, or pins without hashes"
    versions = {}
    for pkg, version in pins:  # a package may appear twice, for two Python versions
        versions.setdefault(normalise(pkg), set()).add(version)
    return versions


def test_every_dependency_is_locked_to_one_version_with_hashes():
    """requirements.lock pins each of pyproject's dependencies (and what they need) exactly."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = locked_versions("requirements.lock")
    for spec in project["dependencies"]:
        assert len(locked.get(requirement_name(spec), ())) == 1, spec
    assert {"ipykernel", "nbclient", "jupyter-server"} <= set(locked)  # not just the direct ones


def test_the_extras_lock_holds_the_same_versions_plus_the_book_and_the_browser():
    """make book / browser-test add Jupyter Book and Playwright without moving a locked package."""
    main, extras = locked_versions("requirements.lock"), locked_versions("requirements-extras.lock")
    assert {k: v for k, v in extras.items() if k in main} == main
    assert {"jupyter-book", "playwright", "sphinx"} <= set(extras)


def test_make_and_binder_install_the_lock_with_hashes():
    """The venv of make test, and Binder's environment.yml, install requirements.lock in hash mode."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --require-hashes -r $(EXTRAS_LOCK)" in makefile
    assert "LOCK        := requirements.lock" in makefile
    yaml = pytest.importorskip("yaml")
    deps = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))["dependencies"]
    pip = [d["pip"] for d in deps if isinstance(d, dict)]
    assert pip == [["--require-hashes", "-r requirements.lock"]]
    assert [d for d in deps if not isinstance(d, dict)] == ["python=3.11", "pip"]


def test_pyproject_installs_both_modules():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    modules = project["tool"]["setuptools"]["py-modules"]
    assert {"charrnn_core", "charrnn_io"} <= set(modules)
    for name in modules:
        assert (REPO / f"{name}.py").is_file(), name


def fake_commands(tmp_path, *names):
    """A PATH whose first folder holds stand-ins for ``names`` that log their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $* (in $(pwd))" >> "{tmp_path}/log"\n')
        tool.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_postbuild_pip_installs_the_repo_in_editable_mode(tmp_path):
    env = fake_commands(tmp_path, "pip")
    subprocess.run([str(REPO / "postBuild")], cwd=REPO, env=env, check=True, timeout=30)
    assert (tmp_path / "log").read_text().splitlines() == [f"pip install --no-deps -e . (in {REPO})"]


def test_ci_runs_make_test_first_from_the_repo_root(tmp_path):
    env = fake_commands(tmp_path, "make")
    subprocess.run([str(REPO / ".ci" / "run")], cwd=tmp_path, env=env, check=True, timeout=30)
    log = (tmp_path / "log").read_text().splitlines()
    assert log[0] == f"make test (in {REPO})"
    assert {"make mutants (in %s)" % REPO, "make browser-test (in %s)" % REPO} <= set(log)


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


def readme_commands(prefix):
    """The README's shell lines starting with ``prefix`` (continuation lines joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith(prefix)]


def test_every_make_target_the_readme_shows_exists():
    targets = {cmd.split()[1] for cmd in readme_commands("make ")}
    assert {"test", "lab"} <= targets
    for target in targets:
        p = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, (target, p.stderr)


def test_every_command_line_the_readme_shows_parses(monkeypatch):
    import charrnn_io  # `python -m charrnn_core` hands its arguments to charrnn_io.main
    seen = []
    monkeypatch.setattr(charrnn_io, "_cmd_train", lambda args, say: seen.append(args) or 0)
    monkeypatch.setattr(charrnn_io, "_cmd_sample", lambda args, say: seen.append(args) or 0)
    commands = readme_commands(".venv/bin/python -m charrnn_core") + readme_commands(
        "python -m charrnn_core")
    assert len(commands) >= 2
    for cmd in commands:
        argv = shlex.split(cmd.split("charrnn_core", 1)[1])
        assert charrnn_io.main(argv) == 0, cmd
    assert len(seen) == len(commands)


def test_readme_binder_badge_opens_the_first_notebook_in_jupyterlab():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    first = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))[0]
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\)", text)
    assert badge, "no Binder link in the README"
    assert badge.group(0).endswith(f"?urlpath=lab/tree/notebooks/{first})")


def test_binder_start_script_runs_the_command_it_is_given_with_one_blas_thread():
    p = subprocess.run([str(REPO / "start"), sys.executable, "-c",
                        "import os, sys; print(os.environ['OPENBLAS_NUM_THREADS'], sys.argv[1:])",
                        "a b"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "1 ['a b']\n"
