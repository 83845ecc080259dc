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


def _find_root() -> Path:
    """The folder that holds data/ and checkpoints/: the one above this file (notebooks/, or
    student/ inside the repository), else the one holding charrnn_core (a student edition
    handed out on its own ships the core, data/ and checkpoints/ beside the notebooks)."""
    above = Path(__file__).resolve().parents[1]
    for root in (above, Path(core.__file__).resolve().parent):
        if (root / "data" / "shakespeare.txt").is_file():
            return root
    return above


ROOT = _find_root()
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
