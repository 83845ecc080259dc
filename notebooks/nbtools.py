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


# --- notebook 10
# The recall task of notebook 07, with the same semantics (07 defines its own copy of it):
# a symbol a/b/c, k filler dots, a "?", and at the "?" the model must output the symbol.
# Every earlier target is the dot. Training: a fresh batch of 32 sequences per update,
# gradients averaged over the batch and clipped to global norm 5, Adagrad at 0.05, 500
# updates, the generator seeded with [seed, k]; accuracy on 600 fresh sequences.

RECALL_VOCAB = core.Vocab.from_text("abc.?")
RECALL_SYMBOLS = RECALL_VOCAB.encode("abc")
RECALL_FILL, RECALL_ASK = (int(i) for i in RECALL_VOCAB.encode(".?"))
RECALL_CHANCE = 1 / len(RECALL_SYMBOLS)


def recall_batch(k: int, batch_size: int, rng: np.random.Generator):
    """B recall sequences with k fillers: (inputs, targets), each an int array (k + 2, B)."""
    first = rng.choice(RECALL_SYMBOLS, size=batch_size)
    inputs = np.full((k + 2, batch_size), RECALL_FILL)
    inputs[0], inputs[-1] = first, RECALL_ASK
    targets = np.full((k + 2, batch_size), RECALL_FILL)
    targets[-1] = first
    return inputs, targets


def _recall_grads(params, x, y):
    """Summed loss, grads and the last hidden state (H, B) for a recall batch, either cell."""
    H, B = params["Why"].shape[1], x.shape[1]
    zeros = np.zeros((H, B))
    if core.cell_of(params) == "lstm":
        loss, grads, h, _ = core.lstm_loss_and_grads_batch(params, x, y, zeros, zeros.copy())
    else:
        loss, grads, h = core.loss_and_grads_batch(params, x, y, zeros)
    return loss, grads, h


def train_recall(k: int, cell: str = "rnn", seed: int = 0, hidden_size: int = 16,
                 iters: int = 500, batch_size: int = 32, learning_rate: float = 0.05,
                 callback=None) -> dict:
    """A model of ``cell`` ("rnn" or "lstm") trained on the recall task with k fillers.

    The RNN starts from ``init_params``, the LSTM from ``lstm_init_params`` (forget bias 1);
    both draw weights and batches from ``np.random.default_rng([seed, k])``.
    ``callback(iteration, params)`` runs after every update. Returns the params.
    """
    rng = np.random.default_rng([seed, k])
    init = core.lstm_init_params if cell == "lstm" else core.init_params
    params = init(RECALL_VOCAB.size, hidden_size, rng)
    opt = core.Adagrad(params, learning_rate)
    for it in range(iters):
        x, y = recall_batch(k, batch_size, rng)
        _, grads, _ = _recall_grads(params, x, y)
        grads, _ = core.clip_global_norm({n: g / batch_size for n, g in grads.items()}, 5.0)
        opt.step(grads)
        if callback is not None:
            callback(it, params)
    return params


def recall_accuracy(params, k: int, n: int = 600, seed: int = 1) -> float:
    """Fraction of n fresh sequences (rng [seed, k]) where the most likely character at the
    "?" is the first symbol. Works for both cells."""
    x, y = recall_batch(k, n, np.random.default_rng([seed, k]))
    _, _, h_last = _recall_grads(params, x, y)
    guess = np.argmax(params["Why"] @ h_last + params["by"], axis=0)
    return float(np.mean(guess == y[-1]))
