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


# --- notebooks 07-09
#
# The recall task (notebook 07; the LSTM notebook reuses it). Alphabet "abc.?": a
# sequence is one symbol a/b/c, then k filler dots, then a "?"; the target is a dot at
# every step except the last, where it is the first symbol. Only the last step needs a
# memory, and the only input that helps it lies k + 1 steps back.

RECALL_VOCAB = core.Vocab.from_text("abc.?")
RECALL_SYMBOLS = RECALL_VOCAB.encode("abc")          # ids of the symbols to remember
RECALL_FILL, RECALL_ASK = (int(i) for i in RECALL_VOCAB.encode(".?"))
RECALL_CHANCE = 1 / len(RECALL_SYMBOLS)             # accuracy of a guess: 1/3
# The training budget every model gets on the task, whatever its architecture:
# fresh batches of `batch_size` sequences, `num_updates` Adagrad updates at
# `learning_rate`, gradients averaged over the batch and clipped to global norm `clip`.
RECALL_BUDGET = dict(hidden_size=16, batch_size=32, num_updates=500, learning_rate=0.05, clip=5.0)
RECALL_EVAL_SEQUENCES = 600                          # fresh sequences per accuracy measurement


def recall_batch(k: int, batch_size: int, rng: np.random.Generator):
    """``batch_size`` recall sequences with ``k`` fillers: (inputs, targets), int arrays (k + 2, B).

    Column b is one sequence: inputs ``s . . . ?`` and targets ``. . . . s`` with s drawn
    uniformly from a/b/c by ``rng`` (ids of ``RECALL_VOCAB``).
    """
    if not (isinstance(k, (int, np.integer)) and k >= 0):
        raise ValueError(f"k (number of fillers) must be an int >= 0, got {k!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    first = rng.choice(RECALL_SYMBOLS, size=batch_size)
    inputs = np.full((k + 2, batch_size), RECALL_FILL)
    inputs[0], inputs[-1] = first, RECALL_ASK
    targets = np.full((k + 2, batch_size), RECALL_FILL)
    targets[-1] = first
    return inputs, targets


def rnn_last_logits(params: dict, inputs) -> np.ndarray:
    """The vanilla RNN's logits at the last step of each sequence: inputs (T, B) -> (V, B).

    Every sequence starts from a zero hidden state.
    """
    V, H = core.check_params(params)
    h = np.zeros((H, np.shape(inputs)[1]))
    for x_t in np.asarray(inputs):
        h = np.tanh(params["Wxh"][:, x_t] + params["Whh"] @ h + params["bh"])
    return params["Why"] @ h + params["by"]


def recall_accuracy(model, k: int, rng: np.random.Generator, n: int = RECALL_EVAL_SEQUENCES) -> float:
    """Share of n fresh recall sequences (k fillers) whose most likely character at the "?"
    is the symbol from the start.

    model: a vanilla-RNN params dict, or any callable ``inputs (T, B) -> logits (V, B)``
    at the last step (e.g. an LSTM's). The sequences come from ``recall_batch(k, n, rng)``.
    A model that guesses scores about ``RECALL_CHANCE``.
    """
    inputs, targets = recall_batch(k, n, rng)
    logits = model(inputs) if callable(model) else rnn_last_logits(model, inputs)
    logits = np.asarray(logits)
    if logits.shape != (RECALL_VOCAB.size, n):
        raise ValueError(f"model must return logits of shape ({RECALL_VOCAB.size}, {n}), got {logits.shape}")
    return float(np.mean(np.argmax(logits, axis=0) == targets[-1]))


def sigma_max(W) -> float:
    """Largest singular value of W (H, H): the most W can stretch a vector, ||W v|| <= sigma_max ||v||."""
    return float(np.linalg.norm(np.asarray(W, dtype=float), 2))
