"""Mutation check: plant known bugs in a copy of the core, one at a time; each must be caught.

    python tests/mutants.py            # every mutant (unit tests first, then the notebooks)
    python tests/mutants.py --list     # just print the mutants
    python tests/mutants.py dhnext     # only the mutants whose name contains "dhnext"
    python tests/mutants.py --notebooks  # also run every notebook against every mutant
                                         # and list the notebooks that fail (slow: ~15 min)

For each mutant a temporary copy of the repo gets the edited charrnn_core.py; the unit
tests run against it (PYTHONPATH puts the copy first), and if they all pass, nbval runs
every notebook. Prints a table mutant -> first failing test, and exits 1 if any survives.
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

ROOT = Path(__file__).resolve().parent.parent

# name -> [(function, text in that function, replacement), ...]. The function (a name, or
# "Class.method") marks the mutation site: apply() finds it with ast, requires the text to
# occur exactly once inside it, and requires the edit to change the function's code (not a
# comment or docstring). A refactor that moves, renames or rewrites a site therefore stops
# the run with a message instead of silently planting a mutant that mutates nothing.
MUTANTS = {
    "dhnext dropped (per-step backward)": [
        ("backward", "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy"),
    ],
    "dhnext dropped (batched backward)": [
        ("loss_and_grads_batch", "dhraw[:, t] = dtanh[:, t] * (dh_out[:, t] + dhnext)",
         "dhraw[:, t] = dtanh[:, t] * dh_out[:, t]"),
    ],
    "dy[target] -= 1 removed (per-step)": [
        ("backward", "dy[targets[t]] -= 1", "dy[targets[t]] -= 0"),
    ],
    "dy[target] -= 1 removed (batched)": [
        ("loss_and_grads_batch", "dy[targets, cols] -= 1", "dy[targets, cols] -= 0"),
    ],
    "Whh.T replaced by Whh (per-step)": [
        ("backward", "dhnext = Whh.T @ dhraw", "dhnext = Whh @ dhraw"),
    ],
    "Whh.T replaced by Whh (batched)": [
        ("loss_and_grads_batch", "dhnext = Whh.T @ dhraw[:, t]", "dhnext = Whh @ dhraw[:, t]"),
    ],
    "1 - h**2 factor removed (per-step)": [
        ("backward", "dhraw = (1 - hs[t] * hs[t]) * dh", "dhraw = dh"),
    ],
    "1 - h**2 factor removed (batched)": [
        ("loss_and_grads_batch", "dtanh = (1 - h * h)", "dtanh = np.ones_like(h)"),
    ],
    "targets shifted by one (per-step backward)": [
        ("backward", "dy[targets[t]] -= 1", "dy[targets[t - 1]] -= 1"),
    ],
    "targets shifted by one (training windows)": [
        ("train", "streams[p + 1:p + seq_length + 1]", "streams[p:p + seq_length]"),
    ],
    "elementwise clipping that doesn't clip": [
        ("clip_elementwise", "np.clip(g, -limit, limit)", "g.copy()"),
    ],
    "global-norm clipping that doesn't clip": [
        ("clip_global_norm", "scale = max_norm / norm if norm > max_norm else 1.0", "scale = 1.0"),
    ],
    "Adagrad rebinds instead of updating in place": [
        ("Adagrad.step", "param -= self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)",
         "param = param - self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)"),
    ],
    "Adagrad without the square root": [
        ("Adagrad.step", "np.sqrt(self.mem[k] + self.eps)", "(self.mem[k] + self.eps)"),
    ],
    "temperature ignored in sampling": [
        ("sample", "softmax((Why @ h + by) / temperature)", "softmax(Why @ h + by)"),
    ],
    "checkpoint check skips shape validation": [
        ("check_checkpoint", "cell, V, _ = check_any_params(params)",
         "cell, V = cell_of(params), params['Why'].shape[0]"),
    ],
    "save_checkpoint skips the check load makes": [
        ("save_checkpoint", "check_checkpoint(params, vocab, meta)", "pass"),
    ],
    "checkpoint members inflated without a bound": [
        ("_read_member", "if info.file_size > 64 * info.compress_size + 2**16:", "if False:"),
    ],
    "softmax without the max shift": [
        ("softmax", "np.exp(z - z.max(axis=0, keepdims=True))", "np.exp(z)"),
    ],
    "numerical_gradient forgets to restore x": [
        ("numerical_gradient", "            x[ix] = old\n        grad[ix]",
         "            pass\n        grad[ix]"),
    ],
    "hidden state not carried between windows": [
        ("train", "loss, grads, hprev = loss_and_grads_batch(params, inputs, targets, hprev)",
         "loss, grads, _ = loss_and_grads_batch(params, inputs, targets, hprev)"),
    ],
    "n-gram interpolation loses the discounted mass": [
        ("_ngram_target_probs", "+ discount * types * p) / np.maximum(total, 1)",
         "+ discount * p) / np.maximum(total, 1)"),
    ],
    "n-gram add-k without k V in the denominator": [
        ("_ngram_target_probs", "(seen + k) / (total + k * V)", "(seen + k) / (total + k)"),
    ],
    "n-gram context includes the character to predict": [
        ("ngram_target_probs", "[1:len(ids), : n - 1]", "[1:len(ids), 1:n]"),
    ],
    # the LSTM's, as learners write them
    "LSTM: dhnext dropped (per-step)": [
        ("lstm_backward", "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy"),
    ],
    "LSTM: dcnext = dc * f dropped (per-step)": [
        ("lstm_backward", "dcnext = dc * f", "dcnext = 0 * f"),
    ],
    "LSTM: dcnext = dc * f dropped (batched)": [
        ("lstm_loss_and_grads_batch", "dcnext = dc * f[:, t]", "dcnext = 0 * f[:, t]"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (per-step)": [
        ("lstm_backward", "df * f * (1 - f),", "df * (1 - f),"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (batched)": [
        ("lstm_loss_and_grads_batch", "cs[:, t] * f[:, t] * (1 - f[:, t])", "cs[:, t] * (1 - f[:, t])"),
    ],
    "LSTM: c_t for c_{t-1} in df (per-step)": [
        ("lstm_backward", "df = dc * cs[t - 1]", "df = dc * cs[t]"),
    ],
    "LSTM: c_t for c_{t-1} in df (batched)": [
        ("lstm_loss_and_grads_batch", "dc * cs[:, t] * f[:, t]", "dc * cs[:, t + 1] * f[:, t]"),
    ],
    "LSTM: output gate applied to c instead of tanh(c)": [
        ("lstm_cell", "h = o * tanh_c", "h = o * c"),
    ],
    "LSTM: cell state not carried between windows": [
        ("train", "loss, grads, hprev, cprev = lstm_loss_and_grads_batch(",
         "loss, grads, hprev, _ = lstm_loss_and_grads_batch("),
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


def apply(source: str, edits) -> str:
    """Plant the edits; raise SystemExit naming the site if any of them is not armed."""
    for qualname, old, new in edits:
        func = find_function(ast.parse(source), qualname)
        if func is None:
            raise SystemExit(f"mutant site {qualname}() is missing from charrnn_core.py")
        lines = source.splitlines(keepends=True)
        start = sum(len(line) for line in lines[:func.lineno - 1])
        end = sum(len(line) for line in lines[:func.end_lineno])
        n = source[start:end].count(old)
        if n != 1:
            raise SystemExit(f"mutant text found {n} times in {qualname}() (expected once): {old!r}")
        mutated = source[:start] + source[start:end].replace(old, new) + source[end:]
        if code_of(find_function(ast.parse(mutated), qualname)) == code_of(func):
            raise SystemExit(f"mutant edit changes no code in {qualname}(): {old!r}")
        source = mutated
    return source


FIRST = ["tests/test_core.py", "tests/test_bad_input.py", "tests/test_robustness.py"]
OWN_TESTS = {"LSTM": "tests/test_lstm.py", "n-gram": "tests/test_ngram.py"}  # mutant name prefix -> file


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


def check(name, edits, workdir: Path, all_notebooks=False) -> str:
    """Return what caught the mutant, or '' if it survived."""
    (workdir / "charrnn_core.py").write_text(apply((ROOT / "charrnn_core.py").read_text(), edits))
    env = dict(os.environ, PYTHONPATH=str(workdir), PYTHONDONTWRITEBYTECODE="1")
    py = sys.executable
    nbval = [py, "-m", "pytest", "--nbval", "notebooks", "--nbval-current-env", "-q", "-rfE",
             "-p", "no:cacheprovider", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
    # the fast, direct tests first: -x stops at the first failure
    first = [f for prefix, f in OWN_TESTS.items() if name.startswith(prefix)] + FIRST
    files = first + sorted(str(f.relative_to(workdir)) for f in (workdir / "tests").glob("test_*.py")
                           if str(f.relative_to(workdir)) not in first)
    code, out = run([py, "-m", "pytest", *files, "-x", "-q", "-rfE",
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
    if "--list" in argv:
        print("\n".join(MUTANTS))
        return 0
    all_notebooks = "--notebooks" in argv
    argv = [a for a in argv if a != "--notebooks"]
    chosen = {k: v for k, v in MUTANTS.items() if not argv or any(a in k for a in argv)}
    source = (ROOT / "charrnn_core.py").read_text()
    for edits in chosen.values():  # fail early if the core changed under a mutant
        apply(source, edits)
    survivors = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        work = Path(tmp)
        for name in ("pyproject.toml", "environment.yml", "postBuild", "start", "Makefile",
                     "README.md"):
            shutil.copy2(ROOT / name, work)
        for folder in ("tests", "notebooks", "data", "checkpoints", ".ci"):
            if (ROOT / folder).exists():
                shutil.copytree(ROOT / folder, work / folder,
                                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        # A mutant only counts as caught if the unmutated core passes everything.
        failure = check("no mutation", [], work)
        if failure:
            print(f"The unmutated core already fails ({failure}); fix that first.")
            return 1
        print(f"| mutant | caught by | seconds |\n|---|---|---|", flush=True)
        for name, edits in chosen.items():
            start = time.perf_counter()
            caught = check(name, edits, work, all_notebooks)
            if not caught:
                survivors.append(name)
            print(f"| {name} | {caught or 'SURVIVED'} | {time.perf_counter() - start:.0f} |",
                  flush=True)
    print(f"\n{len(chosen) - len(survivors)} of {len(chosen)} mutants caught.")
    if survivors:
        print("Survivors (no test or notebook noticed the bug):\n  " + "\n  ".join(survivors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
