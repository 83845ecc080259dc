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

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> [(text in charrnn_core.py, replacement), ...]; each text must occur exactly once.
MUTANTS = {
    "dhnext dropped (per-step backward)": [
        ("dh = Why.T @ dy + dhnext  # h_t feeds two", "dh = Why.T @ dy  # h_t feeds two"),
    ],
    "dhnext dropped (batched backward)": [
        ("dhraw[:, t] = dtanh[:, t] * (dh_out[:, t] + dhnext)", "dhraw[:, t] = dtanh[:, t] * dh_out[:, t]"),
    ],
    "dy[target] -= 1 removed (per-step)": [
        ("dy[targets[t]] -= 1  # dL/dy_t = p_t - onehot(target): softmax",
         "dy[targets[t]] -= 0  # dL/dy_t = p_t - onehot(target): softmax"),
    ],
    "dy[target] -= 1 removed (batched)": [
        ("dy[targets, cols] -= 1                  # p - onehot",
         "dy[targets, cols] -= 0                  # p - onehot"),
    ],
    "Whh.T replaced by Whh (per-step)": [
        ("dhnext = Whh.T @ dhraw  #", "dhnext = Whh @ dhraw  #"),
    ],
    "Whh.T replaced by Whh (batched)": [
        ("dhnext = Whh.T @ dhraw[:, t]", "dhnext = Whh @ dhraw[:, t]"),
    ],
    "1 - h**2 factor removed (per-step)": [
        ("dhraw = (1 - hs[t] * hs[t]) * dh", "dhraw = dh"),
    ],
    "1 - h**2 factor removed (batched)": [
        ("dtanh = (1 - h * h)", "dtanh = np.ones_like(h)"),
    ],
    "targets shifted by one (per-step backward)": [
        ("dy[targets[t]] -= 1  # dL/dy_t = p_t - onehot(target): softmax",
         "dy[targets[t - 1]] -= 1  # dL/dy_t = p_t - onehot(target): softmax"),
    ],
    "targets shifted by one (training windows)": [
        ("streams[p + 1:p + seq_length + 1]", "streams[p:p + seq_length]"),
    ],
    "elementwise clipping that doesn't clip": [
        ("np.clip(g, -limit, limit)", "g.copy()"),
    ],
    "global-norm clipping that doesn't clip": [
        ("scale = max_norm / norm if norm > max_norm else 1.0", "scale = 1.0"),
    ],
    "Adagrad rebinds instead of updating in place": [
        ("param -= self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)",
         "param = param - self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)"),
    ],
    "Adagrad without the square root": [
        ("np.sqrt(self.mem[k] + self.eps)", "(self.mem[k] + self.eps)"),
    ],
    "temperature ignored in sampling": [
        ("softmax((Why @ h + by) / temperature)", "softmax(Why @ h + by)"),
    ],
    "checkpoint load skips shape validation": [
        ("V, _ = check_params(params) if cell == \"rnn\" else check_lstm_params(params)\n",
         "V = params['Why'].shape[0]\n"),
    ],
    "softmax without the max shift": [
        ("np.exp(z - z.max(axis=0, keepdims=True))", "np.exp(z)"),
    ],
    "numerical_gradient forgets to restore x": [
        ("            x[ix] = old\n        grad[ix]", "            pass\n        grad[ix]"),
    ],
    "hidden state not carried between windows": [
        ("loss, grads, hprev = loss_and_grads_batch(params, inputs, targets, hprev)",
         "loss, grads, _ = loss_and_grads_batch(params, inputs, targets, hprev)"),
    ],
    # the LSTM's, as learners write them
    "LSTM: dhnext dropped (per-step)": [
        ("dh = Why.T @ dy + dhnext  # h_t feeds y_t", "dh = Why.T @ dy  # h_t feeds y_t"),
    ],
    "LSTM: dcnext = dc * f dropped (per-step)": [
        ("dcnext = dc * f     # what c_{t-1}", "dcnext = 0 * f     # what c_{t-1}"),
    ],
    "LSTM: dcnext = dc * f dropped (batched)": [
        ("dcnext = dc * f[:, t]", "dcnext = 0 * f[:, t]"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (per-step)": [
        ("df * f * (1 - f),", "df * (1 - f),"),
    ],
    "LSTM: forget gate's derivative f(1-f) wrong (batched)": [
        ("cs[:, t] * f[:, t] * (1 - f[:, t])", "cs[:, t] * (1 - f[:, t])"),
    ],
    "LSTM: c_t for c_{t-1} in df (per-step)": [
        ("df = dc * cs[t - 1]", "df = dc * cs[t]"),
    ],
    "LSTM: c_t for c_{t-1} in df (batched)": [
        ("dc * cs[:, t] * f[:, t]", "dc * cs[:, t + 1] * f[:, t]"),
    ],
    "LSTM: output gate applied to c instead of tanh(c)": [
        ("h = o * tanh_c", "h = o * c"),
    ],
    "LSTM: cell state not carried between windows": [
        ("loss, grads, hprev, cprev = lstm_loss_and_grads_batch(",
         "loss, grads, hprev, _ = lstm_loss_and_grads_batch("),
    ],
}


def apply(source: str, edits) -> str:
    for old, new in edits:
        n = source.count(old)
        if n != 1:
            raise SystemExit(f"mutant text found {n} times (expected once): {old!r}")
        source = source.replace(old, new)
    return source


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
    code, out = run([py, "-m", "pytest", "tests", "-x", "-q", "-rfE", "-p", "no:cacheprovider",
                     "-p", "no:nbval"], workdir, env, 300)
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
