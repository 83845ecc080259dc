"""What several notebooks share: exercise checking, the bundled data, small helpers, plot style.

The model itself lives in ``charrnn_core``; this module holds only the notebooks' own
plumbing, so that each notebook keeps just the code a learner should read. It is
tested in ``tests/test_nbtools.py``.

Exercises. Every checker is a function decorated with ``@exercise("Exercise 1")``:

    @exercise("Exercise 1")
    def check_1(answer):
        assert answer == 42, f"{answer} is not the answer"
        return "the answer to everything"      # optional remark printed after "correct"

    check_1(answer_1)

An unanswered exercise (``None``, ``...``, or a skeleton that raises
``NotImplementedError``) prints "not answered yet" and does not fail, so a notebook
without its solutions (the student edition) runs top to bottom. A wrong answer raises
``WrongAnswer`` with one message that says what is wrong.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import charrnn_core as core

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "shakespeare.txt"
CHECKPOINT = ROOT / "checkpoints" / "shakespeare-h100.npz"


# ------------------------------------------------------------------------ exercises


class WrongAnswer(AssertionError):
    """An exercise's answer is wrong; the message says what is wrong."""


def exercise(title: str):
    """Decorator for a checker ``check(answer) -> remark or None`` (see the module docstring)."""

    def wrap(check):
        @functools.wraps(check)
        def run(answer):
            if answer is None or answer is Ellipsis:
                print(f"{title}: not answered yet")
                return False
            try:
                remark = check(answer)
            except NotImplementedError:
                print(f"{title}: not answered yet (the function still raises NotImplementedError)")
                return False
            except WrongAnswer:
                raise
            except AssertionError as e:  # a plain assert in a checker: same clean message
                raise WrongAnswer(f"{title}: {e}" if str(e) else f"{title}: not right yet") from None
            print(f"{title}: correct ✓" + (f"  ({remark})" if remark else ""))
            return True

        return run

    return wrap


def call(fn, *args, what: str = "your function"):
    """Call a learner's function; an error inside it becomes one WrongAnswer naming it.

    NotImplementedError (an untouched skeleton) passes through, so ``exercise``
    reports the exercise as not answered yet.
    """
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any mistake in the learner's code
        raise WrongAnswer(f"{what} raised {type(e).__name__}: {e}") from None


def compare(name: str, got, expected, tol: float = 1e-7) -> None:
    """Raise WrongAnswer if ``got`` differs from ``expected`` in shape or by rel_error > tol."""
    expected = np.asarray(expected)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name}: expected an array of numbers, got {type(got).__name__}") from None
    if got.shape != expected.shape:
        raise WrongAnswer(f"{name}: shape {got.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(got)):
        raise WrongAnswer(f"{name}: holds NaN or infinity")
    err = core.rel_error(got, expected)
    if err > tol:
        raise WrongAnswer(f"{name}: relative error {err:.1e} (needs < {tol:.0e})")


def compare_all(got: dict, expected: dict, tol: float = 1e-7) -> None:
    """``compare`` every entry of two dicts; one WrongAnswer listing every wrong entry."""
    if not isinstance(got, dict) or set(got) != set(expected):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise WrongAnswer(f"expected a dict with keys {sorted(expected)}, got {keys}")
    wrong = []
    for k in expected:
        try:
            compare(k, got[k], expected[k], tol)
        except WrongAnswer as e:
            wrong.append(str(e))
    if wrong:
        raise WrongAnswer("; ".join(wrong))


# ------------------------------------------------------------------------ data


def load_corpus():
    """The bundled Shakespeare: (text, vocab over the whole text)."""
    text = core.load_text(CORPUS)
    return text, core.Vocab.from_text(text)


def load_pretrained():
    """The shipped checkpoint (trained on the first 90 % of the corpus): (params, vocab, meta)."""
    return core.load_checkpoint(CHECKPOINT)


def held_out_text(text: str) -> str:
    """The last 10 % of the corpus: text the shipped checkpoint never trained on."""
    return core.split_text(text, 0.9)[1]


# ------------------------------------------------------------------------ numbers


def moving_average(x, n: int = 25) -> np.ndarray:
    """Mean of each run of n consecutive values: (len(x) - n + 1,)."""
    return np.convolve(np.asarray(x, dtype=float), np.ones(n) / n, mode="valid")


def spectral_radius(W) -> float:
    """Largest |eigenvalue| of a square matrix W (H, H)."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def perplexity(nats_per_char: float) -> float:
    """exp(loss per character): the number of equally likely characters it amounts to."""
    return math.exp(nats_per_char)


# ------------------------------------------------------------------------ plots


def style() -> None:
    """The series' plot style: small figures at a screen-friendly resolution."""
    plt.rcParams.update({"figure.dpi": 80, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": True, "grid.alpha": 0.3, "legend.fontsize": 8})


# --- notebooks 05-06


def counted(f):
    """f with a call counter: ``g = counted(f)``, then ``g.calls`` is how often g ran."""

    @functools.wraps(f)
    def g(*args, **kwargs):
        g.calls += 1
        return f(*args, **kwargs)

    g.calls = 0
    return g


def error_table(rows: dict, names=core.PARAM_NAMES) -> str:
    """Text table of per-parameter errors: rows {label: {name: error}}, one column per name."""
    width = max(len(label) for label in rows) + 2
    lines = [" " * width + "".join(f"{k:>9s}" for k in names) + "      max"]
    for label, errs in rows.items():
        lines.append(f"{label:{width}s}" + "".join(f"{errs[k]:9.0e}" for k in names)
                     + f"{max(errs[k] for k in names):9.0e}")
    return "\n".join(lines)


def error_heatmap(ax, rows, cols, values, title, passmark=1e-7, fail=1e-3):
    """values[i][j]: a relative error; each cell coloured pass (< passmark) / look closer / fail (> fail)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(["#4daf4a", "#ffb347", "#e41a1c"])
    norm = BoundaryNorm([-20, math.log10(passmark), math.log10(fail), 1], cmap.N)
    v = np.array(values, dtype=float)
    ax.imshow(np.log10(np.maximum(v, 1e-20)), cmap=cmap, norm=norm, aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            ax.text(j, i, f"{v[i, j]:.0e}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_title(title, fontsize=10)
    ax.grid(False)


def flat(grads: dict, names=core.PARAM_NAMES) -> np.ndarray:
    """Every entry of every gradient in one vector (n,), in ``names`` order."""
    return np.concatenate([np.asarray(grads[k], dtype=float).ravel() for k in names])


def cosine(a, b) -> float:
    """cos of the angle between two vectors of the same shape: a.b / (|a| |b|)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(a @ b / math.sqrt(float(a @ a) * float(b @ b)))


def clipping_curves(G, thresholds) -> dict:
    """For a flat gradient G (n,): cosine with G after elementwise and after global-norm
    clipping at each threshold, and the fraction of entries elementwise clipping cuts."""
    G = np.asarray(G, dtype=float)
    norm = float(np.linalg.norm(G))
    return {"elementwise": np.array([cosine(G, np.clip(G, -c, c)) for c in thresholds]),
            "global": np.array([cosine(G, G * min(1.0, c / norm)) for c in thresholds]),
            "cut": np.array([np.mean(np.abs(G) > c) for c in thresholds])}


def plot_clipping(G, threshold, thresholds, curves, show):
    """Two panels for notebook 06's slider: entries after vs before clipping at ``threshold``
    (the entries ``show`` of G), and the ``curves`` of ``clipping_curves`` against threshold."""
    G = np.asarray(G, dtype=float)
    elem = np.clip(G, -threshold, threshold)
    glob = G * min(1.0, threshold / np.linalg.norm(G))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.3))
    ax1.plot(G[show], elem[show], ".", ms=2, color="C1", label="elementwise")
    ax1.plot(G[show], glob[show], ".", ms=2, color="C0", label="global norm")
    ax1.plot(G[show], G[show], color="grey", lw=0.5, label="unclipped")
    ax1.set_xlabel("gradient entry before clipping")
    ax1.set_ylabel("after clipping")
    ax1.set_title(f"threshold {threshold:.3g}: {np.mean(np.abs(G) > threshold):.1%} of entries cut",
                  fontsize=10)
    ax1.legend(fontsize=8, markerscale=4)
    ax2.semilogx(thresholds, curves["elementwise"], color="C1", label="cosine, elementwise")
    ax2.semilogx(thresholds, curves["global"], color="C0", ls="--", label="cosine, global norm")
    ax2.semilogx(thresholds, curves["cut"], color="C2", label="fraction of entries cut (elementwise)")
    ax2.axvline(threshold, color="k", lw=0.8)
    ax2.set_xlabel("threshold")
    ax2.set_ylabel("cosine with the unclipped gradient / fraction")
    ax2.set_ylim(-0.02, 1.05)
    ax2.set_title(f"cosine: elementwise {cosine(G, elem):.3f}, global {cosine(G, glob):.3f}",
                  fontsize=10)
    ax2.legend(fontsize=8, loc="center right")
    plt.tight_layout()
    plt.show()
