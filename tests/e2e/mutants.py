"""Mutation check: plant known bugs in a copy of the code, one at a time; each must be caught.

    python tests/e2e/mutants.py              # every mutant (unit tests first, then the notebooks)
    python tests/e2e/mutants.py --list       # just print the mutants and their sites
    python tests/e2e/mutants.py --check      # only check that every site applies (no tests run)
    python tests/e2e/mutants.py dhnext       # only the mutants whose name contains "dhnext"
    python tests/e2e/mutants.py --notebooks  # also run every notebook against every mutant
                                             # and list the notebooks that fail (slow: ~15 min)

Each mutant edits charrnn_core.py (the model) or charrnn_io.py (checkpoints, command line).
A temporary copy of the repo holds both modules, one of them edited; the unit tests run
against it (PYTHONPATH puts the copy first), stopping at the first failure, and if they all
pass, nbval runs every notebook. Prints a table mutant -> first failing test, and exits 1 if
any survives.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/e2e/mutants.py -> the repository
CORE, IO = "charrnn_core.py", "charrnn_io.py"
MODULES = (CORE, IO)

# name -> [(module, function, text in that function, replacement), ...]. The function (a name,
# or "Class.method") in the module marks the mutation site: apply() finds it with ast, requires
# the text to occur exactly once inside it, and requires the edit to change the function's code
# (not a comment or docstring). A refactor that moves, renames or rewrites a site therefore
# stops the run with a message instead of silently planting a mutant that mutates nothing.
MUTANTS = {
    # one step of the RNN, which every pass over time calls
    "rnn_step: bh dropped": [
        (CORE, "rnn_step", 'params["Whh"] @ h + params["bh"]', 'params["Whh"] @ h'),
    ],
    "rnn_step: Whh.T used instead of Whh": [
        (CORE, "rnn_step", 'params["Whh"] @ h', 'params["Whh"].T @ h'),
    ],
    "rnn_step: tanh left out": [
        (CORE, "rnn_step", "np.tanh(", "("),
    ],
    # backpropagation through time, per step and batched
    "dhnext dropped (per-step backward)": [
        (CORE, "backward", "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy"),
    ],
    "dhnext dropped (batched backward)": [
        (CORE, "_rnn_batch", "dhraw[:, t] = dtanh[:, t] * (dh_out[:, t] + dhnext)",
         "dhraw[:, t] = dtanh[:, t] * dh_out[:, t]"),
    ],
    "dy[target] -= 1 removed (per-step)": [
        (CORE, "backward", "dy[targets[t]] -= 1", "dy[targets[t]] -= 0"),
    ],
    "dy[target] -= 1 removed (batched)": [
        (CORE, "_rnn_batch", "dy[targets, cols] -= 1", "dy[targets, cols] -= 0"),
    ],
    "Whh.T replaced by Whh (per-step)": [
        (CORE, "backward", "dhnext = Whh.T @ dhraw", "dhnext = Whh @ dhraw"),
    ],
    "Whh.T replaced by Whh (batched)": [
        (CORE, "_rnn_batch", "dhnext = Whh.T @ dhraw[:, t]", "dhnext = Whh @ dhraw[:, t]"),
    ],
    "1 - h**2 factor removed (per-step)": [
        (CORE, "backward", "dhraw = (1 - hs[t] * hs[t]) * dh", "dhraw = dh"),
    ],
    "1 - h**2 factor removed (batched)": [
        (CORE, "_rnn_batch", "dtanh = (1 - h * h)", "dtanh = np.ones_like(h)"),
    ],
    "targets shifted by one (per-step backward)": [
        (CORE, "backward", "dy[targets[t]] -= 1", "dy[targets[t - 1]] -= 1"),
    ],
    "targets shifted by one (training windows)": [
        (CORE, "train", "streams[p + 1:p + seq_length + 1]", "streams[p:p + seq_length]"),
    ],
    # the gradient check itself
    "norm_rel_error: denominator without ||b||": [
        (CORE, "norm_rel_error", "denom = np.linalg.norm(a) + np.linalg.norm(b)",
         "denom = np.linalg.norm(a)"),
    ],
    "norm_rel_error: worst entry instead of the norm": [
        (CORE, "norm_rel_error", "np.linalg.norm(a - b) / denom", "np.abs(a - b).max() / denom"),
    ],
    "numerical_gradient forgets to restore x": [
        (CORE, "numerical_gradient", "            x[ix] = old\n        grad[ix]",
         "            pass\n        grad[ix]"),
    ],
    "grad_check: Wxh sampled outside the input characters' columns": [
        (CORE, "grad_check", 'if name in ("Wxh", "Wx"):', "if False:"),
    ],
    # clipping, optimizers, training, sampling
    "elementwise clipping that doesn't clip": [
        (CORE, "clip_elementwise", "np.clip(g, -limit, limit)", "g.copy()"),
    ],
    "global-norm clipping that doesn't clip": [
        (CORE, "clip_global_norm", "scale = max_norm / norm if norm > max_norm else 1.0",
         "scale = 1.0"),
    ],
    "Adagrad rebinds instead of updating in place": [
        (CORE, "Adagrad.step", "param -= self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)",
         "param = param - self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)"),
    ],
    "Adagrad without the square root": [
        (CORE, "Adagrad.step", "np.sqrt(self.mem[k] + self.eps)", "(self.mem[k] + self.eps)"),
    ],
    "hidden state not carried between windows": [
        (CORE, "train", "loss, grads, *state = loss_and_grads_of(params, inputs, targets, *state)",
         "loss, grads, *_ = loss_and_grads_of(params, inputs, targets, *state)"),
    ],
    "temperature ignored in sampling": [
        (CORE, "sample", "softmax((y - y.max()) / temperature)", "softmax(y - y.max())"),
    ],
    "softmax without the max shift": [
        (CORE, "softmax", "np.exp(z - z.max(axis=0, keepdims=True))", "np.exp(z)"),
    ],
    # the n-gram baseline
    "n-gram interpolation loses the discounted mass": [
        (CORE, "_ngram_target_probs", "+ discount * types * p) / np.maximum(total, 1)",
         "+ discount * p) / np.maximum(total, 1)"),
    ],
    "n-gram add-k without k V in the denominator": [
        (CORE, "_ngram_target_probs", "(seen + k) / (total + k * V)", "(seen + k) / (total + k)"),
    ],
    "n-gram Kneser-Ney with raw counts for the lower orders": [
        (CORE, "_ngram_target_probs", 'if smoothing == "kneser-ney" and j < n - 1:', "if False:"),
    ],
    "n-gram Kneser-Ney continuation counts with the last character dropped, not the first": [
        (CORE, "_ngram_target_probs", "counts.pairs[j + 1] % V ** (j + 1)", "counts.pairs[j + 1] // V"),
    ],
    "n-gram context includes the character to predict": [
        (CORE, "ngram_target_probs", "[1:len(ids), : n - 1]", "[1:len(ids), 1:n]"),
    ],
    # the LSTM's, as learners write them
    "LSTM: dhnext dropped (per-step)": [
        (CORE, "lstm_backward", "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy"),
    ],
    "LSTM: dcnext = dc * f dropped (per-step)": [
        (CORE, "lstm_backward", "dcnext = dc * f", "dcnext = 0 * f"),
    ],
    "LSTM: dcnext = dc * f dropped (batched)": [
        (CORE, "_lstm_batch", "dcnext = dc * f[:, t]", "dcnext = 0 * f[:, t]"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (per-step)": [
        (CORE, "lstm_backward", "df * f * (1 - f),", "df * (1 - f),"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (batched)": [
        (CORE, "_lstm_batch", "cs[:, t] * f[:, t] * (1 - f[:, t])", "cs[:, t] * (1 - f[:, t])"),
    ],
    "LSTM: c_t for c_{t-1} in df (per-step)": [
        (CORE, "lstm_backward", "df = dc * cs[t - 1]", "df = dc * cs[t]"),
    ],
    "LSTM: c_t for c_{t-1} in df (batched)": [
        (CORE, "_lstm_batch", "dc * cs[:, t] * f[:, t]", "dc * cs[:, t + 1] * f[:, t]"),
    ],
    "LSTM: output gate applied to c instead of tanh(c)": [
        (CORE, "lstm_cell", "h = o * tanh_c", "h = o * c"),
    ],
    "LSTM: cell state not carried between windows": [
        (CORE, "_lstm_batch", "cs[:, T].copy()", "np.zeros_like(cs[:, T])"),
    ],
    # checkpoints (charrnn_io)
    "checkpoint: save skips the check load makes": [
        (IO, "save_checkpoint",
         'meta = check_checkpoint(params, vocab, {"cell": core.cell_of(params), **meta})',
         'meta = {"cell": core.cell_of(params), **meta}'),
    ],
    "checkpoint: check skips shape validation": [
        (IO, "check_checkpoint", "cell, V, _ = core._check_model(params)",
         "cell, V = core.CELLS[core.cell_of(params)], params['Why'].shape[0]"),
    ],
    "checkpoint: NaN parameters accepted": [
        (IO, "check_checkpoint", "if not np.all(np.isfinite(params[name])):", "if False:"),
    ],
    "checkpoint: integer meta not checked": [
        (IO, "_meta_value", "return core._check_int(name, value, -2**63, 2**63 - 1)",
         "return value"),
    ],
    "checkpoint: arrays beyond the cell's accepted": [
        (IO, "load_checkpoint", "if set(tensors) != expected:", "if not expected <= set(tensors):"),
    ],
    "files: size cap skipped when reading (text and checkpoints)": [
        (IO, "_read_bounded", "if size > max_bytes or len(raw) > max_bytes:", "if False:"),
    ],
}


def find_function(tree, qualname):
    """The FunctionDef for "name" or "Class.method" at the top level of the module, or None."""
    *owner, name = qualname.split(".")
    body = tree.body
    if owner:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner[0]]
        body = classes[0].body if classes else []
    found = [n for n in body if isinstance(n, ast.FunctionDef) and n.name == name]
    return found[0] if found else None


def code_of(func):
    """The function's AST without its docstring: what running it depends on."""
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def apply(sources: dict, edits) -> dict:
    """Plant the edits in {module file name: source}; return the new sources.

    Raises SystemExit naming the site if any edit is not armed: an unknown module, a missing
    function, text found not exactly once in it, or an edit that changes no code."""
    sources = dict(sources)
    for module, qualname, old, new in edits:
        if module not in sources:
            raise SystemExit(f"mutant site names {module!r}, which is not one of {list(sources)}")
        source = sources[module]
        func = find_function(ast.parse(source), qualname)
        if func is None:
            raise SystemExit(f"mutant site {qualname}() is missing from {module}")
        lines = source.splitlines(keepends=True)
        start = sum(len(line) for line in lines[:func.lineno - 1])
        end = sum(len(line) for line in lines[:func.end_lineno])
        n = source[start:end].count(old)
        if n != 1:
            raise SystemExit(f"mutant text found {n} times in {module} {qualname}() "
                             f"(expected once): {old!r}")
        mutated = source[:start] + source[start:end].replace(old, new) + source[end:]
        if code_of(find_function(ast.parse(mutated), qualname)) == code_of(func):
            raise SystemExit(f"mutant edit changes no code in {module} {qualname}(): {old!r}")
        sources[module] = mutated
    return sources


def read_sources(root=ROOT) -> dict:
    return {m: (root / m).read_text(encoding="utf-8") for m in MODULES}


def sites(edits) -> str:
    """'charrnn_core.backward' (and more, comma-separated, for a mutant with several edits)."""
    return ", ".join(dict.fromkeys(f"{Path(m).stem}.{q}" for m, q, *_ in edits))


# The fast, direct tests run first (-x stops at the first failure): a mutant's own test file,
# then FIRST, then every other tests/test_*.py. Files that do not exist are skipped.
FIRST = ["tests/test_model.py", "tests/test_training_and_sampling.py", "tests/test_bad_input.py"]
OWN_TESTS = [  # mutant name prefix -> the test files that should catch it
    ("LSTM", ["tests/test_lstm.py"]),
    ("n-gram", ["tests/test_ngram.py"]),
    ("checkpoint", ["tests/test_checkpoints.py"]),
    ("files", ["tests/test_checkpoints.py", "tests/test_cli.py"]),
]


def test_files(name, workdir: Path) -> list:
    """The unit test files to run for mutant ``name``, in order, relative to ``workdir``."""
    first = [f for prefix, files in OWN_TESTS if name.startswith(prefix) for f in files] + FIRST
    first = [f for f in dict.fromkeys(first) if (workdir / f).is_file()]
    rest = sorted(str(f.relative_to(workdir)) for f in (workdir / "tests").glob("test_*.py"))
    return first + [f for f in rest if f not in first]


NOT_COPIED = (".git", ".venv", "build", "student", "screenshots", "node_modules", "*.egg-info",
              "__pycache__", ".ipynb_checkpoints", ".pytest_cache")


def first_failure(output: str) -> str | None:
    m = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return m.group(1) if m else None


def run(cmd, cwd, env, timeout):
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", "(timed out)"
    return p.returncode, p.stdout + p.stderr


def failing_notebooks(output: str) -> str:
    names = sorted(set(re.findall(r"^(?:FAILED|ERROR) notebooks/(\d\d)-", output, re.M)))
    return ", ".join(names) or "none"


def check(name, edits, workdir: Path, sources: dict, all_notebooks=False) -> str:
    """Return what caught the mutant, or '' if it survived."""
    for module, text in apply(sources, edits).items():  # both modules, every time
        (workdir / module).write_text(text, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(workdir), PYTHONDONTWRITEBYTECODE="1")
    py = sys.executable
    nbval = [py, "-m", "pytest", "--nbval", "notebooks", "--nbval-current-env", "-q", "-rfE",
             "-p", "no:cacheprovider", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
    files, code, out = test_files(name, workdir), 0, ""
    for group in (files[:2], files[2:]):  # the first two files catch most mutants: the other
        if group and code == 0:           # ~1,000 tests are collected only if they do not
            code, out = run([py, "-m", "pytest", *group, "-x", "-q", "-rfE",
                             "-p", "no:cacheprovider", "-p", "no:nbval"], workdir, env, 300)
    caught = f"unit: {first_failure(out) or code}" if code != 0 else ""
    if all_notebooks:
        code, out = run(nbval, workdir, env, 900)
        notebooks = failing_notebooks(out) if code != 0 else "none"
        return f"{caught or 'no unit test'}; notebooks failing: {notebooks}" if (
            caught or code != 0) else ""
    if not caught:
        code, out = run(nbval + ["-x"], workdir, env, 600)
        caught = f"nbval: {first_failure(out) or code}" if code != 0 else ""
    return caught


def main(argv) -> int:
    sources = read_sources()
    for edits in MUTANTS.values():  # fail early if the code changed under any mutant
        apply(sources, edits)
    if "--list" in argv:
        width = max(map(len, MUTANTS))
        print("\n".join(f"{name:<{width}}  {sites(edits)}" for name, edits in MUTANTS.items()))
        return 0
    if "--check" in argv:
        print(f"all {len(MUTANTS)} mutants apply to {' and '.join(MODULES)}")
        return 0
    all_notebooks = "--notebooks" in argv
    argv = [a for a in argv if a != "--notebooks"]
    chosen = {k: v for k, v in MUTANTS.items() if not argv or any(a in k for a in argv)}
    if not chosen:
        print(f"no mutant's name contains any of {argv}; see --list")
        return 1
    survivors = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        work = Path(tmp) / "repo"
        # the repository (both modules, tests, notebooks, data, checkpoints, experiments, the
        # packaging files) without its history, virtualenv and generated folders
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(*NOT_COPIED))
        # A mutant only counts as caught if the unmutated code passes everything.
        failure = check("no mutation", [], work, sources)
        if failure:
            print(f"The unmutated code already fails ({failure}); fix that first.")
            return 1
        print("| mutant | site | caught by | seconds |\n|---|---|---|---|", flush=True)
        for name, edits in chosen.items():
            start = time.perf_counter()
            caught = check(name, edits, work, sources, all_notebooks)
            if not caught:
                survivors.append(name)
            print(f"| {name} | {sites(edits)} | {caught or 'SURVIVED'} | "
                  f"{time.perf_counter() - start:.0f} |", flush=True)
    print(f"\n{len(chosen) - len(survivors)} of {len(chosen)} mutants caught.")
    if survivors:
        print("Survivors (no test or notebook noticed the bug):\n  " + "\n  ".join(survivors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
