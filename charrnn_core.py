"""A vanilla character-level RNN in NumPy, after Karpathy's ``min-char-rnn.py``.

The notebooks in ``notebooks/`` derive every function here, then import it.
The module reads in the order of the story:

    data -> vocabulary / one-hot -> parameters -> forward -> loss -> backward
    -> gradient check -> clipping -> optimizer -> training -> sampling
    -> checkpoints -> n-gram baseline -> command line

Names follow the math (and the gist). Shapes use these letters:

    V  vocabulary size (number of distinct characters)
    H  hidden size
    T  sequence length (time steps unrolled for one update)
    B  batch size (independent sequences processed side by side)

    Wxh (H, V)  input  -> hidden     bh (H, 1)  hidden bias
    Whh (H, H)  hidden -> hidden     by (V, 1)  output bias
    Why (V, H)  hidden -> output (the gist calls it Why; "hidden to y")

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)     hidden state   (H, 1)
    y_t = Why h_t + by                          logits         (V, 1)
    p_t = softmax(y_t)                          probabilities  (V, 1)
    L   = sum_t -log p_t[target_t]              loss (a sum over time, as in the gist)

The LSTM (notebook 10) has its own section after the RNN's batched pass, with the
same layout (``lstm_forward``, ``lstm_backward``, ``lstm_loss_and_grads`` and its
batched twin); ``train(cell="lstm")``, sampling, ``evaluate`` and checkpoints handle
both cells.

Randomness comes only from an explicit ``np.random.Generator`` argument, and the
library never prints: the command line at the bottom does that.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # The command line gives the same numbers however the shell is set up: a BLAS with
    # several threads splits long sums differently (batched training differs in the last
    # bits), so it gets one thread. This must happen before NumPy is imported.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import contextlib
import math
import numbers
import re
import signal
import struct
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


# ----------------------------------------------------------------------------- data


MAX_TEXT_BYTES = 2**28  # 256 MiB: 50 times the Shakespeare corpus, 2.5 times enwik8


def load_text(path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text file to train on.

    Raises ValueError naming ``path`` if the file is missing, empty, not UTF-8,
    has fewer than 2 distinct characters (nothing to predict), or holds more than
    ``max_bytes`` bytes (only that much is read, so ``/dev/zero`` cannot fill memory).
    """
    _require_ints(max_bytes=max_bytes)
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise ValueError(f"cannot read text file {str(path)!r}: {e.strerror}") from None
    if len(raw) > max_bytes:
        raise ValueError(f"text file {str(path)!r} is larger than the limit of {max_bytes:,} bytes")
    if not raw:
        raise ValueError(f"text file {str(path)!r} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"text file {str(path)!r} is not UTF-8 (bad byte at offset {e.start})"
        ) from None
    if len(set(text)) < 2:
        raise ValueError(
            f"text file {str(path)!r} has {len(set(text))} distinct character(s); need at least 2"
        )
    return text


def split_text(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """Cut ``text`` into (training text, held-out text) at ``train_fraction`` of its length.

    The cut is one contiguous split, not a shuffle: the held-out part is the last
    plays' text, which a model trained on the first part has never read. The
    shipped checkpoint is trained on the first 90 % (``train_fraction=0.9``).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not (isinstance(train_fraction, (int, float)) and 0 < train_fraction <= 1):
        raise ValueError(f"train_fraction must be a number in (0, 1], got {train_fraction!r}")
    cut = round(len(text) * train_fraction)
    return text[:cut], text[cut:]


# ------------------------------------------------------------------ vocabulary, one-hot


@dataclass(frozen=True)
class Vocab:
    """The characters a model knows, and their integer ids.

    ``chars`` is sorted, so the same text always gives the same ids (a set's
    order would change from run to run).
    """

    chars: str
    index: dict = field(init=False, repr=False, compare=False)  # char -> id (the gist's char_to_ix)
    _table: np.ndarray = field(init=False, repr=False, compare=False)  # code point -> id, or -1

    def __post_init__(self):
        if len(self.chars) < 2 or len(set(self.chars)) != len(self.chars):
            raise ValueError(f"chars must hold at least 2 distinct characters, got {self.chars!r}")
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.chars)})
        # The lookup table encode() uses: much faster than a dict lookup per character.
        # Its last entry stays -1 and stands for every code point above the vocabulary's.
        table = np.full(max(map(ord, self.chars)) + 2, -1, dtype=np.int64)
        table[[ord(c) for c in self.chars]] = np.arange(len(self.chars))
        object.__setattr__(self, "_table", table)

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """The vocabulary of ``text``: its distinct characters, sorted."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """V, the number of characters."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Characters -> ids, an int array of shape (len(text),)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = self._table[np.minimum(codes, len(self._table) - 1)]  # -1: not in the vocabulary
        if ids.size and ids.min() < 0:
            c = text[int(np.argmax(ids < 0))]
            raise ValueError(
                f"character {c!r} (U+{ord(c):04X}) is not in the vocabulary of {self.size} characters"
            )
        return ids

    def decode(self, ids) -> str:
        """Ids (any sequence of ints in [0, V)) -> characters."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.size]
        if bad:
            raise ValueError(f"id {bad[0]} is outside the vocabulary [0, {self.size})")
        return "".join(self.chars[i] for i in ids)


def one_hot(ix: int, vocab_size: int) -> np.ndarray:
    """The column vector x of shape (V, 1) with x[ix] = 1 and zeros elsewhere.

    Note ``Wxh @ one_hot(ix, V) == Wxh[:, [ix]]``: multiplying by a one-hot vector
    selects a column, which is why the core indexes instead of multiplying.
    """
    _require_ints(vocab_size=vocab_size)
    _require_ints(smallest=0, ix=ix)
    if not ix < vocab_size:
        raise ValueError(f"ix must be in [0, {vocab_size}), got {ix}")
    x = np.zeros((vocab_size, 1))
    x[ix] = 1.0
    return x


# ----------------------------------------------------------------------- parameters


def _require_ints(smallest=1, **values):
    """Raise ValueError naming the first value that is not an int >= smallest."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < smallest:
            kind = "positive" if smallest == 1 else "non-negative"
            raise ValueError(f"{name} must be a {kind} integer, got {value!r}")


def _require_positive_numbers(**values):
    """Raise ValueError naming the first value that is not a finite number > 0."""
    for name, value in values.items():
        if (not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool)
                or not (math.isfinite(value) and value > 0)):
            raise ValueError(f"{name} must be > 0 (a finite number), got {value!r}")


def _require_rng(rng):
    """Raise TypeError unless rng is a np.random.Generator."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a np.random.Generator, e.g. np.random.default_rng(0)")


def init_params(vocab_size: int, hidden_size: int, rng: np.random.Generator,
                scale: float = 0.01, dtype=np.float64) -> dict:
    """Small random weights and zero biases, with the gist's shapes.

    Returns {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}.
    Weights are ``scale * standard normal``.
    """
    _require_rng(rng)
    _require_ints(vocab_size=vocab_size, hidden_size=hidden_size)
    V, H = vocab_size, hidden_size
    return {
        "Wxh": (rng.standard_normal((H, V)) * scale).astype(dtype),
        "Whh": (rng.standard_normal((H, H)) * scale).astype(dtype),
        "Why": (rng.standard_normal((V, H)) * scale).astype(dtype),
        "bh": np.zeros((H, 1), dtype=dtype),
        "by": np.zeros((V, 1), dtype=dtype),
    }


def param_shapes(vocab_size: int, hidden_size: int) -> dict:
    """The shape each parameter must have for the given V and H."""
    V, H = vocab_size, hidden_size
    return {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}


def check_params(params) -> tuple[int, int]:
    """Check the five arrays fit together; return (V, H). Raises ValueError otherwise."""
    _check_param_dict(params, PARAM_NAMES, "params")
    H, V = np.shape(params["Wxh"]) if np.ndim(params["Wxh"]) == 2 else (0, 0)
    _check_shapes(params, param_shapes(V, H), f"V={V}, H={H} from Wxh")
    return V, H


def _check_param_dict(params, names, what) -> None:
    """Raise unless params is a dict of NumPy float arrays with exactly the keys ``names``."""
    if not isinstance(params, dict) or set(params) != set(names):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{what} must be a dict with keys {list(names)}, got {got}")
    for name in names:
        if not (isinstance(params[name], np.ndarray) and params[name].dtype.kind == "f"):
            what = getattr(params[name], "dtype", type(params[name]).__name__)
            raise TypeError(f"params[{name!r}] must be a NumPy array of floats, got {what}")


def _check_shapes(params, shapes: dict, sizes: str) -> None:
    """Raise ValueError naming the first array whose shape differs from ``shapes``."""
    for name, shape in shapes.items():
        if np.shape(params[name]) != shape or min(shape) < 1:
            raise ValueError(f"params[{name!r}] has shape {np.shape(params[name])}, expected {shape} ({sizes})")


# -------------------------------------------------------------------- forward, loss


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over axis 0: (V, ...) logits -> (V, ...) probabilities summing to 1.

    Subtracting the column maximum first changes nothing mathematically
    (softmax(z) == softmax(z - c)) but keeps exp() from overflowing.
    """
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _check_sequences(params, inputs, targets, hprev, batched=False):
    """Validate one training example; return (inputs, targets) as int arrays."""
    V, H = check_params(params)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    want = 2 if batched else 1
    for name, a in (("inputs", inputs), ("targets", targets)):
        if a.ndim != want or a.size == 0 or a.dtype.kind not in "iu":
            raise ValueError(f"{name} must be a non-empty {want}-d array of ints, got {a.dtype} {a.shape}")
        if a.min() < 0 or a.max() >= V:
            raise ValueError(f"{name} holds ids outside [0, {V})")
    if inputs.shape != targets.shape:
        raise ValueError(f"inputs and targets differ in shape: {inputs.shape} vs {targets.shape}")
    hshape = (H, inputs.shape[1]) if batched else (H, 1)
    if not isinstance(hprev, np.ndarray) or hprev.dtype.kind != "f":
        raise TypeError(f"hprev must be a NumPy array of floats of shape {hshape}, "
                        f"got {getattr(hprev, 'dtype', type(hprev).__name__)}")
    if np.shape(hprev) != hshape:
        raise ValueError(f"hprev must have shape {hshape}, got {np.shape(hprev)}")
    return inputs, targets


def _check_ids(name, ids, vocab_size, min_len=1) -> np.ndarray:
    """ids as a 1-d int array in [0, vocab_size) of length >= min_len, or ValueError naming it."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < min_len or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-d array of at least {min_len} ints, "
                         f"got {ids.dtype} {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{name} holds ids outside [0, {vocab_size})")
    return ids.astype(np.int64)


def forward(params, inputs, targets, hprev):
    """Run the RNN over one sequence and add up the loss.

    inputs, targets: T ints each (targets[t] is the character after inputs[t]).
    hprev: (H, 1), the hidden state carried over from the previous sequence.
    Returns (loss, cache): loss = sum_t -log p_t[targets[t]] (a float), and the
    cache (inputs, targets, hs, ps) that ``backward`` needs, where
    hs[t] is h_t (H, 1) for t = -1 .. T-1 (hs[-1] = hprev, as in the gist)
    and ps[t] is p_t (V, 1).
    """
    inputs, targets = _check_sequences(params, inputs, targets, hprev)
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    hs, ps = {-1: hprev}, {}
    loss = 0.0
    for t in range(len(inputs)):
        ix = inputs[t]
        # Wxh @ one_hot(ix) is column ix of Wxh: index it instead of multiplying.
        hs[t] = np.tanh(Wxh[:, ix:ix + 1] + Whh @ hs[t - 1] + bh)
        ps[t] = softmax(Why @ hs[t] + by)
        p_target = ps[t][targets[t], 0]
        loss -= math.log(p_target) if p_target > 0 else -math.inf  # underflow: infinite loss
    return loss, (inputs, targets, hs, ps)


# ------------------------------------------------------------------------- backward


def backward(params, cache, last_step_only=False):
    """Backpropagation through time for the sequence that ``forward`` ran.

    Returns (grads, dhs): grads has the keys and shapes of params (not clipped);
    dhs is (T, H), row t being dL/dh_t, the gradient reaching hidden state t.
    With ``last_step_only`` only the last step's loss is differentiated, which
    shows how the gradient of one loss fades as it travels back in time.
    """
    inputs, targets, hs, ps = cache
    Whh, Why = params["Whh"], params["Why"]
    T = len(inputs)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dhs = np.zeros((T, Whh.shape[0]), dtype=Whh.dtype)
    dhnext = np.zeros_like(hs[-1])  # no gradient arrives from beyond the last step
    for t in reversed(range(T)):
        dy = ps[t].copy()
        dy[targets[t]] -= 1  # dL/dy_t = p_t - onehot(target): softmax + cross-entropy
        if last_step_only and t < T - 1:
            dy[:] = 0
        grads["Why"] += np.dot(dy, hs[t].T)  # np.dot: BLAS outer product, faster than @ here
        grads["by"] += dy
        dh = Why.T @ dy + dhnext  # h_t feeds two things: the output y_t and h_{t+1}
        dhs[t] = dh[:, 0]
        dhraw = (1 - hs[t] * hs[t]) * dh  # back through tanh: tanh'(z) = 1 - tanh(z)^2
        grads["bh"] += dhraw
        grads["Wxh"][:, inputs[t]:inputs[t] + 1] += dhraw  # only column inputs[t] was used
        grads["Whh"] += np.dot(dhraw, hs[t - 1].T)
        dhnext = Whh.T @ dhraw  # what h_{t-1} receives through Whh, for the next iteration
    return grads, dhs


def loss_and_grads(params, inputs, targets, hprev):
    """Loss, gradients and last hidden state for one sequence (the gist's lossFun).

    inputs, targets: T ints; hprev: (H, 1).
    Returns (loss, grads, h_last): loss is the sum over the T steps, grads has
    the keys and shapes of params (not clipped), h_last is h_{T-1} (H, 1).
    """
    loss, cache = forward(params, inputs, targets, hprev)
    grads, _ = backward(params, cache)
    return loss, grads, cache[2][len(cache[0]) - 1]


def hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True) -> np.ndarray:
    """||dL/dh_t|| for t = 0 .. T-1, shape (T,).

    By default L is the loss of the last step alone, so entry t measures how much
    of that one gradient survives T-1-t steps back in time (the vanishing gradient).
    Pass ``last_step_only=False`` to use the full loss summed over all steps.
    """
    _, cache = forward(params, inputs, targets, hprev)
    _, dhs = backward(params, cache, last_step_only=last_step_only)
    return np.linalg.norm(dhs, axis=1)


def loss_and_grads_batch(params, inputs, targets, hprev):
    """``loss_and_grads`` for B sequences at once, with matrix-matrix products.

    inputs, targets: int arrays (T, B), column b being one sequence;
    hprev: (H, B), one hidden state per sequence.
    Returns (loss, grads, h_last (H, B)). Loss and grads are *sums* over the B
    sequences, so B = 1 gives exactly ``loss_and_grads``.

    Layout: the hidden states of all steps and sequences sit side by side as the
    columns of one (H, T*B) matrix, column t*B + b being step t of sequence b. Only
    the recurrence loops over time; everything else is one matrix product.
    """
    inputs, targets = _check_sequences(params, inputs, targets, hprev, batched=True)
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    T, B = inputs.shape
    H, V = Wxh.shape
    cols, targets = np.arange(T * B), targets.ravel()  # one column per (step, sequence)

    # forward: hs[:, t + 1] = h_t (H, B), hs[:, 0] = hprev
    hs = np.empty((H, T + 1, B), dtype=Whh.dtype)
    hs[:, 0] = hprev
    for t in range(T):
        hs[:, t + 1] = np.tanh(Wxh[:, inputs[t]] + Whh @ hs[:, t] + bh)
    h = hs[:, 1:].reshape(H, T * B)         # h_0 .. h_{T-1} side by side (a view, no copy)
    ps = softmax(Why @ h + by)              # (V, T*B)
    loss = -np.sum(np.log(ps[targets, cols]))

    # backward
    dy = ps
    dy[targets, cols] -= 1                  # p - onehot(target), every step at once
    grads = {"Why": dy @ h.T, "by": dy.sum(axis=1, keepdims=True)}
    dh_out = (Why.T @ dy).reshape(H, T, B)  # what each h_t gets from its own output
    dtanh = (1 - h * h).reshape(H, T, B)
    dhraw = np.empty((H, T, B), dtype=Whh.dtype)
    dhnext = np.zeros_like(hprev)
    for t in reversed(range(T)):
        dhraw[:, t] = dtanh[:, t] * (dh_out[:, t] + dhnext)
        dhnext = Whh.T @ dhraw[:, t]
    dhraw = dhraw.reshape(H, T * B)
    grads["Whh"] = dhraw @ hs[:, :-1].reshape(H, T * B).T
    grads["bh"] = dhraw.sum(axis=1, keepdims=True)
    x = np.zeros((T * B, V), dtype=Whh.dtype)  # one-hot rows, made once per batch
    x[cols, inputs.ravel()] = 1
    grads["Wxh"] = dhraw @ x
    return float(loss), grads, hs[:, T].copy()


# ------------------------------------------------------------------------- the LSTM
#
# A second cell, built like the RNN above (Hochreiter & Schmidhuber 1997, with the
# forget gate of Gers et al. 2000). Besides h_t it carries a cell state c_t (H, 1),
# which is updated by *adding* to it, so its gradient is not squeezed through a
# matrix and a tanh at every step:
#
#     z_t = Wx[:, x_t] + Wh h_{t-1} + b                 pre-activations  (4H, 1)
#     i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)   input, forget, output gates
#     g   = tanh(z_g)                                     candidate content
#     c_t = f * c_{t-1} + i * g                           cell state (H, 1)
#     h_t = o * tanh(c_t)                                 hidden state (H, 1)
#     y_t = Why h_t + by                                  logits, as in the RNN
#
#     Wx (4H, V)  input  -> gates      b (4H, 1)  gate biases
#     Wh (4H, H)  hidden -> gates      Why (V, H), by (V, 1) as in the RNN
#
# The 4H rows of Wx, Wh, b hold the gates in the order i, f, o, g (H rows each).

LSTM_PARAM_NAMES = ("Wx", "Wh", "b", "Why", "by")
CELLS = ("rnn", "lstm")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise; written with tanh so it cannot overflow."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def lstm_init_params(vocab_size: int, hidden_size: int, rng: np.random.Generator,
                     scale: float = 0.01, dtype=np.float64, forget_bias: float = 1.0) -> dict:
    """Small random weights; gate biases 0 except the forget gate's, which is ``forget_bias`` (1).

    Returns {"Wx": (4H, V), "Wh": (4H, H), "b": (4H, 1), "Why": (V, H), "by": (V, 1)},
    gate rows in the order i, f, o, g. A forget bias of 1 starts the forget gate at
    sigmoid(1) = 0.73, so the cell keeps most of its content from the first update on.
    """
    _require_rng(rng)
    _require_ints(vocab_size=vocab_size, hidden_size=hidden_size)
    V, H = vocab_size, hidden_size
    b = np.zeros((4 * H, 1), dtype=dtype)
    b[H:2 * H] = forget_bias
    return {
        "Wx": (rng.standard_normal((4 * H, V)) * scale).astype(dtype),
        "Wh": (rng.standard_normal((4 * H, H)) * scale).astype(dtype),
        "b": b,
        "Why": (rng.standard_normal((V, H)) * scale).astype(dtype),
        "by": np.zeros((V, 1), dtype=dtype),
    }


def lstm_param_shapes(vocab_size: int, hidden_size: int) -> dict:
    """The shape each LSTM parameter must have for the given V and H."""
    V, H = vocab_size, hidden_size
    return {"Wx": (4 * H, V), "Wh": (4 * H, H), "b": (4 * H, 1), "Why": (V, H), "by": (V, 1)}


def check_lstm_params(params) -> tuple[int, int]:
    """Check the five LSTM arrays fit together; return (V, H). Raises ValueError otherwise."""
    _check_param_dict(params, LSTM_PARAM_NAMES, "LSTM params")
    V, H = np.shape(params["Why"]) if np.ndim(params["Why"]) == 2 else (0, 0)
    _check_shapes(params, lstm_param_shapes(V, H), f"V={V}, H={H} from Why")
    return V, H


def cell_of(params) -> str:
    """Which cell a params dict is for: "rnn" or "lstm", read off its keys."""
    if isinstance(params, dict) and set(params) == set(LSTM_PARAM_NAMES):
        return "lstm"
    if isinstance(params, dict) and set(params) == set(PARAM_NAMES):
        return "rnn"
    got = sorted(params) if isinstance(params, dict) else type(params).__name__
    raise ValueError(f"params must have the RNN's keys {list(PARAM_NAMES)} or the LSTM's "
                     f"{list(LSTM_PARAM_NAMES)}, got {got}")


def check_any_params(params) -> tuple[str, int, int]:
    """Check params of either cell; return (cell, V, H)."""
    cell = cell_of(params)
    return (cell, *(check_lstm_params(params) if cell == "lstm" else check_params(params)))


def lstm_cell(params, ix, h, c):
    """One LSTM step for the columns of ``ix`` (B ints); h, c: (H, B).

    Returns (h, c, gates, tanh_c): the new states (H, B), the gate activations
    i, f, o, g stacked as (4H, B), and tanh(c) (H, B), which the backward pass reuses.
    """
    H = h.shape[0]
    z = params["Wx"][:, ix] + params["Wh"] @ h + params["b"]  # (4H, B): a column of Wx per input
    gates = np.empty_like(z)
    gates[:3 * H] = sigmoid(z[:3 * H])      # i, f, o squeezed into (0, 1)
    gates[3 * H:] = np.tanh(z[3 * H:])      # g, the candidate, in (-1, 1)
    i, f, o, g = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
    c = f * c + i * g                       # keep a share f of the old cell, add i of the new
    tanh_c = np.tanh(c)
    h = o * tanh_c                          # the output gate decides what the cell shows
    return h, c, gates, tanh_c


def _check_lstm_sequences(params, inputs, targets, hprev, cprev, batched=False):
    """Validate one LSTM training example; return (inputs, targets) as int arrays."""
    V, H = check_lstm_params(params)
    rnn_like = {"Wxh": np.zeros((H, V)), "Whh": np.zeros((H, H)), "Why": params["Why"],
                "bh": np.zeros((H, 1)), "by": params["by"]}  # reuse the RNN's checks
    inputs, targets = _check_sequences(rnn_like, inputs, targets, hprev, batched)
    if np.shape(cprev) != np.shape(hprev):
        raise ValueError(f"cprev must have the shape of hprev {np.shape(hprev)}, got {np.shape(cprev)}")
    return inputs, targets


def lstm_forward(params, inputs, targets, hprev, cprev):
    """Run the LSTM over one sequence and add up the loss.

    inputs, targets: T ints; hprev, cprev: (H, 1), the states carried over.
    Returns (loss, cache) with cache = (inputs, targets, hs, cs, gates, tanh_cs, ps):
    hs[t], cs[t] are h_t, c_t (H, 1) for t = -1 .. T-1 (hs[-1] = hprev, cs[-1] = cprev),
    gates[t] is (4H, 1) (i, f, o, g), tanh_cs[t] = tanh(c_t), ps[t] is p_t (V, 1).
    """
    inputs, targets = _check_lstm_sequences(params, inputs, targets, hprev, cprev)
    Why, by = params["Why"], params["by"]
    hs, cs, gates, tanh_cs, ps = {-1: hprev}, {-1: cprev}, {}, {}, {}
    loss = 0.0
    for t in range(len(inputs)):
        hs[t], cs[t], gates[t], tanh_cs[t] = lstm_cell(params, inputs[t:t + 1], hs[t - 1], cs[t - 1])
        ps[t] = softmax(Why @ hs[t] + by)
        p_target = ps[t][targets[t], 0]
        loss -= math.log(p_target) if p_target > 0 else -math.inf
    return loss, (inputs, targets, hs, cs, gates, tanh_cs, ps)


def lstm_backward(params, cache, last_step_only=False):
    """Backpropagation through time for the sequence that ``lstm_forward`` ran.

    Returns (grads, dhs, dcs): grads has the keys and shapes of params; dhs and dcs
    are (T, H), row t being dL/dh_t and dL/dc_t (everything that reaches h_t and c_t).
    With ``last_step_only`` only the last step's loss is differentiated.
    """
    inputs, targets, hs, cs, gates, tanh_cs, ps = cache
    Wh, Why = params["Wh"], params["Why"]
    T, H = len(inputs), Wh.shape[1]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dhs = np.zeros((T, H), dtype=Wh.dtype)
    dcs = np.zeros((T, H), dtype=Wh.dtype)
    dhnext = np.zeros_like(hs[-1])  # no gradient arrives from beyond the last step
    dcnext = np.zeros_like(cs[-1])  # ... neither along h nor along the cell
    for t in reversed(range(T)):
        dy = ps[t].copy()
        dy[targets[t]] -= 1  # dL/dy_t = p_t - onehot(target), as in the RNN
        if last_step_only and t < T - 1:
            dy[:] = 0  # only the last step's loss
        grads["Why"] += np.dot(dy, hs[t].T)  # the output layer: exactly the RNN's lines
        grads["by"] += dy
        dh = Why.T @ dy + dhnext  # h_t feeds y_t and the gates of step t+1
        i, f, o, g = gates[t][:H], gates[t][H:2 * H], gates[t][2 * H:3 * H], gates[t][3 * H:]
        do = dh * tanh_cs[t]  # h = o * tanh(c): the output gate's share
        dc = dh * o * (1 - tanh_cs[t] ** 2) + dcnext  # c_t feeds h_t and c_{t+1}
        dhs[t], dcs[t] = dh[:, 0], dc[:, 0]  # kept for measuring (lstm_state_grad_norms)
        di = dc * g  # c = f * c_prev + i * g, so dc/di = g,
        df = dc * cs[t - 1]  # dc/df = c_prev (the previous cell),
        dg = dc * i  # and dc/dg = i
        dz = np.vstack((di * i * (1 - i),    # back through the sigmoids: s' = s (1 - s)
                        df * f * (1 - f),    # (the forget gate's)
                        do * o * (1 - o),    # (the output gate's)
                        dg * (1 - g * g)))   # and through tanh: 1 - g^2; dz is (4H, 1)
        grads["b"] += dz  # the LSTM's dhraw: from here on the RNN's lines
        grads["Wx"][:, inputs[t]:inputs[t] + 1] += dz  # only column inputs[t] was used
        grads["Wh"] += np.dot(dz, hs[t - 1].T)  # z = ... + Wh h_{t-1}
        dhnext = Wh.T @ dz  # what h_{t-1} receives through the four gates
        dcnext = dc * f     # what c_{t-1} receives along the cell path: just times f
    return grads, dhs, dcs


def lstm_loss_and_grads(params, inputs, targets, hprev, cprev):
    """Loss, gradients and last states for one sequence: the LSTM's ``loss_and_grads``.

    inputs, targets: T ints; hprev, cprev: (H, 1).
    Returns (loss, grads, h_last, c_last): loss summed over the T steps, grads with
    the keys and shapes of params (not clipped), h_last = h_{T-1} and c_last = c_{T-1} (H, 1).
    """
    loss, cache = lstm_forward(params, inputs, targets, hprev, cprev)
    grads, _, _ = lstm_backward(params, cache)
    T = len(cache[0])
    return loss, grads, cache[2][T - 1], cache[3][T - 1]


def lstm_state_grad_norms(params, inputs, targets, hprev, cprev, last_step_only=True):
    """(||dL/dh_t||, ||dL/dc_t||) for t = 0 .. T-1, two arrays of shape (T,).

    By default L is the last step's loss alone, as in ``hidden_grad_norms``.
    """
    _, cache = lstm_forward(params, inputs, targets, hprev, cprev)
    _, dhs, dcs = lstm_backward(params, cache, last_step_only=last_step_only)
    return np.linalg.norm(dhs, axis=1), np.linalg.norm(dcs, axis=1)


def lstm_loss_and_grads_batch(params, inputs, targets, hprev, cprev):
    """``lstm_loss_and_grads`` for B sequences at once.

    inputs, targets: (T, B) ints; hprev, cprev: (H, B).
    Returns (loss, grads, h_last, c_last), loss and grads summed over the B
    sequences (B = 1 gives ``lstm_loss_and_grads``). As in ``loss_and_grads_batch``,
    only the recurrence loops over time; the output layer and the weight gradients
    are one matrix product each over all T*B columns.
    """
    inputs, targets = _check_lstm_sequences(params, inputs, targets, hprev, cprev, batched=True)
    Wh, Why, by = params["Wh"], params["Why"], params["by"]
    T, B = inputs.shape
    H, V = Wh.shape[1], Why.shape[0]
    cols, targets = np.arange(T * B), targets.ravel()

    # forward: hs[:, t + 1] = h_t, cs[:, t + 1] = c_t; index 0 holds hprev, cprev
    hs = np.empty((H, T + 1, B), dtype=Wh.dtype)
    cs = np.empty((H, T + 1, B), dtype=Wh.dtype)
    gates = np.empty((4 * H, T, B), dtype=Wh.dtype)
    tanh_cs = np.empty((H, T, B), dtype=Wh.dtype)
    hs[:, 0], cs[:, 0] = hprev, cprev
    for t in range(T):
        hs[:, t + 1], cs[:, t + 1], gates[:, t], tanh_cs[:, t] = lstm_cell(
            params, inputs[t], hs[:, t], cs[:, t])
    h = hs[:, 1:].reshape(H, T * B)
    ps = softmax(Why @ h + by)              # (V, T*B)
    loss = -np.sum(np.log(ps[targets, cols]))

    # backward
    dy = ps
    dy[targets, cols] -= 1
    grads = {"Why": dy @ h.T, "by": dy.sum(axis=1, keepdims=True)}
    dh_out = (Why.T @ dy).reshape(H, T, B)  # what each h_t gets from its own output
    i, f, o, g = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
    dz = np.empty((4 * H, T, B), dtype=Wh.dtype)
    dhnext = np.zeros_like(hprev)
    dcnext = np.zeros_like(cprev)
    for t in reversed(range(T)):
        dh = dh_out[:, t] + dhnext
        dc = dh * o[:, t] * (1 - tanh_cs[:, t] ** 2) + dcnext
        dz[:H, t] = dc * g[:, t] * i[:, t] * (1 - i[:, t])                # input gate
        dz[H:2 * H, t] = dc * cs[:, t] * f[:, t] * (1 - f[:, t])           # forget gate (c_{t-1})
        dz[2 * H:3 * H, t] = dh * tanh_cs[:, t] * o[:, t] * (1 - o[:, t])  # output gate
        dz[3 * H:, t] = dc * i[:, t] * (1 - g[:, t] ** 2)                  # candidate
        dhnext = Wh.T @ dz[:, t]
        dcnext = dc * f[:, t]
    dz = dz.reshape(4 * H, T * B)
    grads["Wh"] = dz @ hs[:, :-1].reshape(H, T * B).T
    grads["b"] = dz.sum(axis=1, keepdims=True)
    x = np.zeros((T * B, V), dtype=Wh.dtype)
    x[cols, inputs.ravel()] = 1
    grads["Wx"] = dz @ x
    return float(loss), grads, hs[:, T].copy(), cs[:, T].copy()


def evaluate(params, ids, streams: int = 64) -> float:
    """Mean loss in nats per character of the model on the id sequence ``ids`` (N,).

    No gradients, no updates: the text is cut into ``streams`` contiguous pieces
    (as ``batch_streams`` does), each read from a zero hidden state that is then
    carried along, and every character after the first of a piece is predicted.
    exp() of the result is the perplexity. Works for RNN and LSTM params alike.
    """
    cell, V, H = check_any_params(params)
    ids = _check_ids("ids", ids, V, min_len=2)
    _require_ints(streams=streams)
    streams = min(streams, len(ids) // 2)
    x = batch_streams(ids, streams, 1)  # (N // streams, streams)
    Why, by = params["Why"], params["by"]
    h = np.zeros((H, streams), dtype=Why.dtype)
    c = np.zeros_like(h)  # the LSTM's cell state (unused by the RNN)
    total = 0.0
    for t in range(len(x) - 1):
        if cell == "lstm":
            h, c, _, _ = lstm_cell(params, x[t], h, c)
        else:
            h = np.tanh(params["Wxh"][:, x[t]] + params["Whh"] @ h + params["bh"])
        p = softmax(Why @ h + by)
        total -= np.log(p[x[t + 1], np.arange(streams)]).sum()
    return float(total / ((len(x) - 1) * streams))


# ------------------------------------------------------------------ gradient check


def rel_error(a, b) -> float:
    """Largest elementwise relative error max |a - b| / (|a| + |b|).

    Where both are exactly 0 the error is 0. Dividing by |a| + |b| (not |a + b|,
    which is 0 when a = -b) keeps the measure symmetric and scale-free.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / denom)) if a.size else 0.0


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centered differences (f(x + h) - f(x - h)) / 2h for entries of x.

    f takes no arguments and reads x, which is nudged in place and restored.
    Returns an array of x's shape; only ``indices`` (a list of index tuples,
    default every entry) are filled in, the rest are 0.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in (np.ndindex(x.shape) if indices is None else indices):
        old = x[ix]
        try:
            x[ix] = old + h
            fplus = f()
            x[ix] = old - h
            fminus = f()
        finally:
            x[ix] = old
        grad[ix] = (fplus - fminus) / (2 * h)
    return grad


def grad_check(params, inputs, targets, hprev, num_checks=None, rng=None, h=1e-5,
               grad_fn=None) -> dict:
    """Compare analytic gradients with centered differences, per parameter.

    ``grad_fn(params, inputs, targets, hprev) -> (loss, grads, h)`` defaults to
    ``loss_and_grads`` (or ``loss_and_grads_batch`` for (T, B) inputs); its loss
    is the function differentiated numerically. For LSTM params the default is
    ``lstm_loss_and_grads`` (or its batched version) and ``hprev`` is the pair
    (hprev, cprev). ``num_checks`` entries per parameter are drawn with ``rng``; None
    checks every entry. The sample of ``Wxh`` (the LSTM's ``Wx``) is drawn from the columns of characters
    that occur in ``inputs``: any other column's gradient is exactly 0 in both backprop
    and finite differences, so an entry drawn there would test nothing.
    Returns {name: max relative error}. Correct gradients score below 1e-7 in float64,
    except entries whose true gradient is tiny (say < 1e-4), where the rounding noise of
    the loss (about 1e-10 after dividing by 2h) dominates; notebook 05 shows this.
    """
    if num_checks is not None:
        _require_ints(num_checks=num_checks)
    if grad_fn is None and cell_of(params) == "lstm":
        lstm_fn = lstm_loss_and_grads_batch if np.ndim(inputs) == 2 else lstm_loss_and_grads

        def grad_fn(p, x, y, state):
            return lstm_fn(p, x, y, *state)[:3]
    elif grad_fn is None:
        grad_fn = loss_and_grads_batch if np.ndim(inputs) == 2 else loss_and_grads
    if num_checks is not None and not isinstance(rng, np.random.Generator):
        raise TypeError("sampling entries (num_checks) needs rng, a np.random.Generator")
    _, grads, _ = grad_fn(params, inputs, targets, hprev)
    errors = {}
    for name in params:
        x = params[name]
        indices = None
        if num_checks is not None and num_checks < x.size:
            candidates = np.arange(x.size)
            if name in ("Wxh", "Wx"):  # entries in the columns of the input characters
                candidates = candidates.reshape(x.shape)[:, np.unique(inputs)].ravel()
            flat = candidates[rng.choice(candidates.size, size=min(num_checks, candidates.size),
                                         replace=False)]
            indices = [np.unravel_index(i, x.shape) for i in flat]
        num = numerical_gradient(lambda: grad_fn(params, inputs, targets, hprev)[0], x, h, indices)
        ana = grads[name] if indices is None else np.array([grads[name][i] for i in indices])
        num = num if indices is None else np.array([num[i] for i in indices])
        errors[name] = rel_error(ana, num)
    return errors


# ------------------------------------------------------------------------- clipping


def clip_elementwise(grads: dict, limit: float) -> dict:
    """The gist's clipping: each entry squeezed into [-limit, limit]. Returns new arrays.

    Fast, but it can turn the gradient's direction (big entries shrink, small ones don't).
    """
    if not limit > 0:
        raise ValueError(f"limit must be > 0, got {limit}")
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def global_norm(grads: dict) -> float:
    """sqrt of the sum of squares of every entry of every gradient."""
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))


def clip_global_norm(grads: dict, max_norm: float):
    """Rescale all gradients together so their global norm is at most max_norm.

    (Pascanu et al., 2013.) Keeps the direction. Returns (new grads, norm before clipping).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


# ------------------------------------------------------------------------ optimizers


class Adagrad:
    """Adagrad: each parameter entry gets its own step size lr / sqrt(sum of its g^2).

    ``step`` updates the arrays in ``params`` in place (``-=`` on the very arrays),
    so whoever holds params sees the change. ``mem`` holds the running sums.
    """

    def __init__(self, params: dict, learning_rate: float = 0.1, eps: float = 1e-8):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        self.params, self.learning_rate, self.eps = params, learning_rate, eps
        self.mem = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict) -> None:
        """One update. grads: the keys and shapes of params (e.g. Wxh (H, V))."""
        for k, param in self.params.items():
            g = grads[k]
            self.mem[k] += g * g
            param -= self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)


class SGD:
    """Plain gradient descent, param -= lr * grad, in place. For comparison with Adagrad."""

    def __init__(self, params: dict, learning_rate: float = 0.01):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        self.params, self.learning_rate = params, learning_rate

    def step(self, grads: dict) -> None:
        """One update. grads: the keys and shapes of params (e.g. Wxh (H, V))."""
        for k, param in self.params.items():
            param -= self.learning_rate * grads[k]


# ------------------------------------------------------------------------- training


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    """What ``train`` returns. losses and smooth_losses have shape (num_iters,),
    measured per sequence (so B does not change their scale)."""

    params: dict
    vocab: Vocab
    losses: np.ndarray
    smooth_losses: np.ndarray
    hprev: np.ndarray
    cprev: np.ndarray | None = None  # the LSTM's last cell state (None for the RNN)


@dataclass
class TrainStep:
    """What ``train`` hands its callback after every update.

    iteration: 0-based update number; loss: this update's loss per sequence;
    smooth_loss: the running average; params: the live parameters (just updated);
    grads: this update's gradients, averaged over the batch, before clipping;
    clipped: the gradients the optimizer was given (equal to grads when clip is None).
    """

    iteration: int
    loss: float
    smooth_loss: float
    params: dict
    grads: dict
    clipped: dict


def _check_train_numbers(learning_rate, clip, dtype):
    """Raise naming learning_rate, clip or dtype if it is not what ``train`` can use."""
    _require_positive_numbers(learning_rate=learning_rate)
    if clip is not None:
        _require_positive_numbers(clip=clip)
    try:
        ok = np.dtype(dtype) in (np.float32, np.float64)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")


def batch_streams(data: np.ndarray, batch_size: int, seq_length: int) -> np.ndarray:
    """Cut the encoded text into B contiguous streams, one per column: (N // B, B).

    Column b is data[b * (N // B) : (b + 1) * (N // B)]; each stream keeps its own
    hidden state in training, as in char-rnn. B = 1 is the gist's single pass.
    """
    _require_ints(batch_size=batch_size, seq_length=seq_length)
    data = np.asarray(data)
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ValueError(f"data must be a 1-d array of ints, got {data.dtype} {data.shape}")
    n = len(data) // batch_size
    if n < seq_length + 1:
        raise ValueError(
            f"the text ({len(data)} characters) is too short for batch_size={batch_size} "
            f"streams of seq_length + 1 = {seq_length + 1} characters"
        )
    return data[: n * batch_size].reshape(batch_size, n).T


def train(text: str, hidden_size: int = 100, seq_length: int = 25, learning_rate: float = 0.1,
          num_iters: int = 1000, seed: int = 0, batch_size: int = 1, clip: float | None = 5.0,
          clip_mode: str = "elementwise", optimizer: str = "adagrad", dtype=np.float64,
          params: dict | None = None, vocab: Vocab | None = None, callback=None,
          cell: str = "rnn") -> TrainResult:
    """The gist's training loop, batched, for the vanilla RNN (``cell="rnn"``) or the LSTM.

    Each iteration takes the next seq_length characters of each of the B streams
    (see ``batch_streams``), carries each stream's hidden state over from the
    previous window, and starts again from the top (hidden state reset to 0)
    when a stream runs out. Gradients are averaged over the B streams before
    clipping ("elementwise" as in the gist, "global" norm, or clip=None) and an
    Adagrad (or "sgd") step, so learning_rate and clip mean what they mean at
    B = 1. The smoothed loss starts at seq_length * ln V and follows
    0.999 * smooth + 0.001 * loss, as in the gist.

    ``callback(step)`` runs after every update with a ``TrainStep`` (iteration, loss,
    smoothed loss, live params, gradients before and after clipping); give
    ``params`` (and ``vocab``) to continue training a model (they must be params
    of ``cell``). The LSTM starts from ``lstm_init_params`` and carries both h and c
    from window to window; everything else is the same loop.
    Raises TrainingDiverged if the loss becomes NaN or infinite.
    """
    _require_ints(hidden_size=hidden_size, seq_length=seq_length, batch_size=batch_size)
    _require_ints(smallest=0, num_iters=num_iters, seed=seed)
    _check_train_numbers(learning_rate, clip, dtype)
    if clip_mode not in ("elementwise", "global"):
        raise ValueError(f"clip_mode must be 'elementwise' or 'global', got {clip_mode!r}")
    if optimizer not in ("adagrad", "sgd"):
        raise ValueError(f"optimizer must be 'adagrad' or 'sgd', got {optimizer!r}")
    if cell not in CELLS:
        raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
    lstm = cell == "lstm"
    vocab = vocab or Vocab.from_text(text)
    streams = batch_streams(vocab.encode(text), batch_size, seq_length)
    rng = np.random.default_rng(seed)
    if params is None:
        params = (lstm_init_params if lstm else init_params)(vocab.size, hidden_size, rng, dtype=dtype)
    given_cell, V, H = check_any_params(params)
    if given_cell != cell:
        raise ValueError(f"params are {given_cell.upper()} parameters but cell={cell!r}")
    if V != vocab.size:
        raise ValueError(f"params are for V={V} characters, the vocabulary has {vocab.size}")
    opt = (Adagrad if optimizer == "adagrad" else SGD)(params, learning_rate)

    losses = np.empty(num_iters)
    smooth_losses = np.empty(num_iters)
    smooth = seq_length * math.log(V)
    hprev = np.zeros((H, batch_size), dtype=params["Why"].dtype)
    cprev = np.zeros_like(hprev) if lstm else None
    p = 0
    with np.errstate(all="ignore"):  # an overflow shows up as a non-finite loss below
        for it in range(num_iters):
            if p + seq_length + 1 > len(streams):
                p, hprev = 0, np.zeros_like(hprev)
                cprev = np.zeros_like(hprev) if lstm else None
            inputs, targets = streams[p:p + seq_length], streams[p + 1:p + seq_length + 1]
            if lstm:
                loss, grads, hprev, cprev = lstm_loss_and_grads_batch(params, inputs, targets,
                                                                      hprev, cprev)
            else:
                loss, grads, hprev = loss_and_grads_batch(params, inputs, targets, hprev)
            loss /= batch_size
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"loss became {loss} at iteration {it} (learning_rate={learning_rate}); "
                    "try a smaller learning rate or clipping"
                )
            grads = {k: g / batch_size for k, g in grads.items()}
            clipped = grads
            if clip is not None:
                clipped = (clip_elementwise(grads, clip) if clip_mode == "elementwise"
                           else clip_global_norm(grads, clip)[0])
            opt.step(clipped)
            smooth = 0.999 * smooth + 0.001 * loss
            losses[it], smooth_losses[it] = loss, smooth
            p += seq_length
            if callback is not None:
                callback(TrainStep(it, loss, smooth, params, grads, clipped))
    return TrainResult(params, vocab, losses, smooth_losses, hprev, cprev)


# ------------------------------------------------------------------------- sampling


def warm_up(params, ids, h):
    """Run the recurrence over ``ids`` (ints) from state h; return the new state.

    The state is h (H, 1) for the RNN, the pair (h, c) of (H, 1) arrays for the LSTM.
    """
    if cell_of(params) == "lstm":
        h, c = h
        for ix in ids:
            h, c, _, _ = lstm_cell(params, [ix], h, c)
        return h, c
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    for ix in ids:
        h = np.tanh(Wxh[:, ix:ix + 1] + Whh @ h + bh)
    return h


def sample(params, h, seed_ix: int, n: int, rng: np.random.Generator,
           temperature: float = 1.0) -> list:
    """Draw n character ids from the model, feeding each one back in.

    h: (H, 1) starting hidden state, or for LSTM params the pair (h, c) of (H, 1)
    arrays; seed_ix: the id fed in first.
    Each step draws from softmax(y / temperature): below 1 sharper (safer,
    more repetitive), above 1 flatter (more surprising). Returns a list of n ints.
    """
    cell, V, H = check_any_params(params)
    _require_ints(smallest=0, n=n)
    if not (isinstance(temperature, (int, float, np.floating)) and temperature > 0
            and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if not 0 <= seed_ix < V:
        raise ValueError(f"seed_ix must be in [0, {V}), got {seed_ix}")
    if cell == "lstm":
        if not (isinstance(h, tuple) and len(h) == 2 and all(np.shape(s) == (H, 1) for s in h)):
            raise ValueError(f"h must be the LSTM state, a pair (h, c) of ({H}, 1) arrays")
        h, c = h
    elif np.shape(h) != (H, 1):
        raise ValueError(f"h must have shape ({H}, 1), got {np.shape(h)}")
    _require_rng(rng)
    Why, by = params["Why"], params["by"]
    uniforms = rng.random(n)  # one draw per character, made up front
    ix, ixes = seed_ix, []
    for u in uniforms:
        if cell == "lstm":
            h, c, _, _ = lstm_cell(params, [ix], h, c)
        else:
            h = np.tanh(params["Wxh"][:, ix:ix + 1] + params["Whh"] @ h + params["bh"])
        p = softmax((Why @ h + by) / temperature)
        # inverse-CDF draw: the first id whose cumulative probability exceeds u
        ix = min(int(np.searchsorted(np.cumsum(p), u, side="right")), V - 1)
        ixes.append(ix)
    return ixes


def generate(params, vocab: Vocab, prime: str, n: int, rng: np.random.Generator,
             temperature: float = 1.0) -> str:
    """Text: ``prime`` followed by n sampled characters.

    The prime (at least one character, all in the vocabulary) sets the hidden state;
    sampling starts from its last character.
    """
    if not prime:
        raise ValueError("prime must hold at least one character")
    cell, V, H = check_any_params(params)
    if vocab.size != V:
        raise ValueError(f"vocab has {vocab.size} characters but params are for V={V}")
    ids = vocab.encode(prime)
    h = np.zeros((H, 1), params["Why"].dtype)
    h = warm_up(params, ids[:-1], (h, h.copy()) if cell == "lstm" else h)
    return prime + vocab.decode(sample(params, h, int(ids[-1]), n, rng, temperature))


# ---------------------------------------------------------------------- checkpoints

# What a checkpoint may hold besides the parameters: the vocabulary and single values.
_META_KINDS = "biufU"  # bool, int, unsigned, float, str: what .item() turns into Python values


def checkpoint_param_names(meta: dict) -> tuple:
    """The parameter arrays a checkpoint with this ``meta`` holds: its cell's five
    (meta ``cell``; "rnn" when absent, as in checkpoints written before the LSTM)."""
    cell = meta.get("cell", "rnn")
    if cell not in CELLS:
        raise ValueError(f"has cell {cell!r}, expected one of {list(CELLS)}")
    return LSTM_PARAM_NAMES if cell == "lstm" else PARAM_NAMES


def check_checkpoint(params, vocab: Vocab, meta: dict) -> None:
    """Raise ValueError unless (params, vocab, meta) is something a checkpoint may hold.

    ``save_checkpoint`` runs it before writing and ``load_checkpoint`` after reading,
    so nothing is saved that loading would refuse: params that fit together
    (float32 or float64, finite) and fit the vocabulary (V = vocab.size), and
    meta of single ints (64-bit), floats, bools or strings, not named like an array.
    """
    names = checkpoint_param_names(meta)
    cell, V, _ = check_any_params(params)
    if names is not (LSTM_PARAM_NAMES if cell == "lstm" else PARAM_NAMES):
        raise ValueError(f"meta cell={meta['cell']!r} but params are for cell {cell!r}")
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab, got {type(vocab).__name__}")
    if V != vocab.size:
        raise ValueError(f"the parameters are for V={V} characters, the vocabulary has {vocab.size}")
    if vocab.chars.endswith("\0"):  # NumPy's str arrays drop trailing NULs
        raise ValueError("vocab chars must not end with NUL ('\\x00'); sort them")
    for name in names:
        if np.asarray(params[name]).dtype not in (np.float32, np.float64):
            raise ValueError(f"params[{name!r}] must be float32 or float64, got {params[name].dtype}")
        if not np.all(np.isfinite(params[name])):
            raise ValueError(f"parameters hold NaN or infinity (params[{name!r}])")
    for k, v in meta.items():
        if (not (isinstance(k, str) and re.fullmatch(r"\w+", k)) or k in PARAM_NAMES
                or k in LSTM_PARAM_NAMES or k == "chars"):
            raise ValueError(f"meta {k!r} must be a plain name not named like a parameter")
        if not isinstance(v, (int, float, str, np.number, np.bool_)):
            raise ValueError(f"meta {k!r} must be an int, float or str, got {type(v).__name__}")
        if isinstance(v, int) and not -2**63 <= v < 2**63:
            raise ValueError(f"meta {k!r} = {v} does not fit in a 64-bit integer")
        if isinstance(v, str) and v.endswith("\0"):
            raise ValueError(f"meta {k!r} must not end with NUL ('\\x00')")


def _checkpoint_target(path) -> str:
    """The file a checkpoint at ``path`` is written to: a symlink's target. Raises
    ValueError if it names a folder or something else that is not a regular file."""
    name = os.fspath(path)
    if not name or name.endswith(os.sep) or os.path.isdir(name):
        raise ValueError(f"checkpoint path {name!r} names a folder, expected a file name")
    target = os.path.realpath(name)
    if os.path.exists(target) and not os.path.isfile(target):
        raise ValueError(f"checkpoint path {name!r} is not a regular file; refusing to replace it")
    return target


def _remove_stale_temp_files(folder) -> None:
    """Delete temp files that killed processes of this machine left in ``folder``."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = re.fullmatch(r"\.checkpoint-(\d+)-\w+\.tmp", entry.name)
            if not m or int(m.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:  # no such process: nobody is writing this file
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            except OSError:  # exists (e.g. another user's process): leave it
                pass


def _write_npz(f, arrays: dict) -> None:
    """Write arrays as an uncompressed .npz (what np.savez writes), without pickles
    and with fixed timestamps, so the same arrays always give the same bytes."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(a), allow_pickle=False)


def save_checkpoint(path, params, vocab: Vocab, **meta) -> None:
    """Write params, vocabulary and meta (ints, floats, strings) to an .npz file.

    Works for RNN and LSTM params; the cell is recorded as meta ``cell``.
    Refuses (ValueError) anything ``load_checkpoint`` would refuse (see
    ``check_checkpoint``), a ``path`` that is a folder or not a regular file, and
    reports a failed write (disk full, read-only folder) as ValueError naming the path.
    A symlink is written through to its target. The file is written to a temporary
    file beside it and renamed over it, so a crash leaves either the old checkpoint
    or the new one, never half a file; temp files of killed processes are removed.
    """
    meta.setdefault("cell", cell_of(params))
    check_checkpoint(params, vocab, meta)
    arrays = {k: np.asarray(v) for k, v in params.items()}
    arrays["chars"] = np.array(vocab.chars)
    arrays.update({f"meta_{k}": np.array(v) for k, v in meta.items()})
    target = _checkpoint_target(path)
    folder = os.path.dirname(target)
    _remove_stale_temp_files(folder)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".checkpoint-{os.getpid()}-", suffix=".tmp")
    except OSError as e:
        raise ValueError(f"cannot write checkpoint {str(path)!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; give it normal file permissions
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):  # already renamed if Ctrl-C came just after
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ValueError(f"cannot write checkpoint {str(path)!r}: {e.strerror or e}") from None
        raise


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, kinds: str) -> np.ndarray:
    """One .npy member of a checkpoint, reading no more than its header promises."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ValueError(f"member {name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"member {name!r} uses an unsupported compression (method {info.compress_type})")
    if info.file_size > 64 * info.compress_size + 2**16:  # deflated floats shrink far less
        raise ValueError(f"member {name!r} claims to expand from {info.compress_size:,} "
                         f"to {info.file_size:,} bytes")
    with zf.open(info) as m:
        version = np.lib.format.read_magic(m)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"member {name!r} has an unsupported .npy version {version}")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(m)
        if dtype.hasobject or dtype.kind not in kinds or dtype.itemsize == 0:
            raise ValueError(f"member {name!r} holds {dtype}, expected a kind in {kinds!r}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:
            raise ValueError(f"member {name!r} claims shape {shape}, more than its "
                             f"{info.file_size:,} bytes")
        data = m.read(nbytes + 1)  # reading to the end also checks the CRC
    if len(data) != nbytes:
        raise ValueError(f"member {name!r} holds {len(data):,} bytes, its header says {nbytes:,}")
    a = np.frombuffer(bytearray(data), dtype).reshape(shape, order="F" if fortran else "C")
    return a.astype(dtype.newbyteorder("="), copy=False)


_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
                NotImplementedError, RuntimeError, struct.error, SyntaxError, OverflowError,
                KeyError, TypeError)


def _read_checkpoint_arrays(path) -> dict:
    """name -> array for the members of the .npz at ``path`` (parameters, chars, meta_*).

    Checks the names before decompressing anything; raises ValueError without the path.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError("not a regular file")
    with zipfile.ZipFile(path) as zf:
        infos = {}
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in infos:
                raise ValueError(f"member {info.filename!r} is not an array of a checkpoint")
            infos[info.filename[:-4]] = info
        meta = {k: _read_member(zf, info, _META_KINDS) for k, info in infos.items()
                if k.startswith("meta_")}
        if any(a.ndim != 0 for a in meta.values()):
            raise ValueError(f"meta entries {[k for k, a in meta.items() if a.ndim]} are not "
                             "single values")
        names = checkpoint_param_names({k[5:]: a.item() for k, a in meta.items()})
        foreign = sorted((set(PARAM_NAMES) | set(LSTM_PARAM_NAMES)) - set(names) & set(infos))
        if foreign:
            cell = "lstm" if names is LSTM_PARAM_NAMES else "rnn"
            raise ValueError(f"says cell={cell!r} but holds the other cell's parameters {foreign}")
        missing = [k for k in (*names, "chars") if k not in infos]
        if missing:
            raise ValueError(f"lacks {missing}")
        extra = sorted(set(infos) - set(names) - {"chars"} - set(meta))
        if extra:
            raise ValueError(f"holds unexpected members {extra}")
        arrays = {k: _read_member(zf, infos[k], "f") for k in names}
        arrays["chars"] = _read_member(zf, infos["chars"], "U")
    return {**arrays, **meta}


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``: returns (params, vocab, meta).

    No pickles are loaded, and no member is decompressed beyond what its header
    promises. A missing, truncated, corrupted or foreign file, or arrays that do not
    fit together (``check_checkpoint``), raise ValueError naming the path. The meta
    entry ``cell`` ("rnn" when absent, as in checkpoints written before the LSTM) says
    which parameters the file must hold.
    """
    try:
        arrays = _read_checkpoint_arrays(path)
    except _READ_ERRORS as e:
        if isinstance(e, zipfile.BadZipFile) and "not a zip file" in str(e):
            e = "not an .npz checkpoint (a zip archive of arrays)"
        raise ValueError(f"cannot read checkpoint {str(path)!r}: {e}") from None
    try:
        if arrays["chars"].ndim != 0:
            raise ValueError(f"chars has shape {arrays['chars'].shape}, expected a single string")
        vocab = Vocab(str(arrays["chars"]))
        meta = {k[5:]: arrays[k].item() for k in arrays if k.startswith("meta_")}
        params = {k: arrays[k] for k in checkpoint_param_names(meta)}
        check_checkpoint(params, vocab, meta)
    except (ValueError, TypeError) as e:
        raise ValueError(f"checkpoint {str(path)!r} is not valid: {e}") from None
    return params, vocab, meta


# ------------------------------------------------------------------- n-gram baseline
#
# Not part of the gist: a counting model to read the RNN's loss against. An n-gram
# model predicts the next character from the n - 1 characters before it, using how often
# each (context, next character) pair occurred in the training text.


@dataclass(frozen=True)
class NGramCounts:
    """Character n-gram counts of a training text, for every context length j = 0 .. n-1.

    A context of j ids c_1 .. c_j is coded as the int sum_i c_i V^(j-i), and the pair
    (context, next id) as context * V + next. For each j (a tuple entry per j):

        pairs[j], pair_counts[j]        sorted pair codes, how often each occurred
        contexts[j], context_counts[j]  sorted context codes, how often each was followed
                                        by a character (the sum of its pair counts)
        context_types[j]                how many distinct characters followed it

    Made by ``ngram_counts``; read by ``ngram_probs`` and ``ngram_loss``.
    """

    n: int
    vocab_size: int
    pairs: tuple
    pair_counts: tuple
    contexts: tuple
    context_counts: tuple
    context_types: tuple


def ngram_counts(ids, n: int, vocab_size: int) -> NGramCounts:
    """Count every window of 1 .. n consecutive ids in ``ids`` (N,) (a training text, encoded).

    Returns the NGramCounts of an n-gram model: contexts of 0 .. n-1 characters.
    """
    _require_ints(n=n, vocab_size=vocab_size)
    if vocab_size ** n >= 2 ** 62:
        raise ValueError(f"n={n} is too large for vocab_size={vocab_size}: codes would overflow")
    ids = _check_ids("ids", ids, vocab_size, min_len=n)
    tables = {k: [] for k in ("pairs", "pair_counts", "contexts", "context_counts", "context_types")}
    for j in range(n):
        windows = np.lib.stride_tricks.sliding_window_view(ids, j + 1)  # (N - j, j + 1)
        codes = windows @ vocab_size ** np.arange(j, -1, -1, dtype=np.int64)
        pairs, pair_counts = np.unique(codes, return_counts=True)
        contexts, which = np.unique(pairs // vocab_size, return_inverse=True)
        tables["pairs"].append(pairs)
        tables["pair_counts"].append(pair_counts)
        tables["contexts"].append(contexts)
        tables["context_counts"].append(np.bincount(which, weights=pair_counts).astype(np.int64))
        tables["context_types"].append(np.bincount(which))
    return NGramCounts(n, vocab_size, **{k: tuple(v) for k, v in tables.items()})


def _lookup(keys, values, queries) -> np.ndarray:
    """values[i] where keys[i] == query (keys sorted), 0 where a query is not among the keys."""
    i = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[i] == queries, values[i], 0)


def _ngram_target_probs(counts: NGramCounts, history, known, targets, n, smoothing, k, discount):
    """p(target | history) for M cases at once, shape (M,).

    history: (M, n-1) ids, the characters before each target, right-aligned;
    known: (M,) how many of the last entries of a history row are real characters.
    """
    V = counts.vocab_size
    if smoothing == "add-k":  # only the longest context there is
        j = np.minimum(known, n - 1)
        p = np.empty(len(targets))
        for jj in np.unique(j):
            rows = j == jj
            ctx = history[rows, history.shape[1] - jj:] @ V ** np.arange(jj - 1, -1, -1, dtype=np.int64)
            seen = _lookup(counts.pairs[jj], counts.pair_counts[jj], ctx * V + targets[rows])
            total = _lookup(counts.contexts[jj], counts.context_counts[jj], ctx)
            p[rows] = (seen + k) / (total + k * V)  # an unseen context: (0 + k) / (0 + kV) = 1/V
        return p
    # interpolated absolute discounting: take `discount` off every seen count of a context and
    # give what it frees to the next-shorter context's estimate, from 1/V up to n-1 characters
    p = np.full(len(targets), 1.0 / V)
    for j in range(n):
        ctx = history[:, history.shape[1] - j:] @ V ** np.arange(j - 1, -1, -1, dtype=np.int64)
        total = _lookup(counts.contexts[j], counts.context_counts[j], ctx)
        use = (total > 0) & (known >= j)  # a context never seen leaves the shorter one's estimate
        seen = _lookup(counts.pairs[j], counts.pair_counts[j], ctx * V + targets)
        types = _lookup(counts.contexts[j], counts.context_types[j], ctx)
        mixed = (np.maximum(seen - discount, 0) + discount * types * p) / np.maximum(total, 1)
        p = np.where(use, mixed, p)
    return p


def _check_ngram_options(counts, n, smoothing, k, discount) -> int:
    """Validate the options of ngram_probs / ngram_loss; return the model order to use."""
    if not isinstance(counts, NGramCounts):
        raise TypeError(f"counts must be an NGramCounts (from ngram_counts), got {type(counts).__name__}")
    n = counts.n if n is None else n
    _require_ints(n=n)
    if n > counts.n:
        raise ValueError(f"n must be at most {counts.n}, the order the counts were made for, got {n}")
    if smoothing not in ("interpolated", "add-k"):
        raise ValueError(f"smoothing must be 'interpolated' or 'add-k', got {smoothing!r}")
    # a real number: Python or NumPy int/float, but not a bool (True would pass as 1)
    def real(x):
        return isinstance(x, (numbers.Real, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))
    if not (real(k) and k > 0 and math.isfinite(k)):
        raise ValueError(f"k must be a positive number, got {k!r}")
    if not (real(discount) and 0 < discount <= 1):
        raise ValueError(f"discount must be a number in (0, 1], got {discount!r}")
    return n


def ngram_probs(counts: NGramCounts, context, n: int | None = None, smoothing: str = "interpolated",
                k: float = 1.0, discount: float = 0.75) -> np.ndarray:
    """The n-gram model's distribution of the character after ``context``: shape (V,), sums to 1.

    context: ids of the text so far (any length; only the last n-1 are used).
    n: the model order, at most counts.n (default counts.n): the same counts give
    every lower-order model too. smoothing:

    - "add-k": p(c | ctx) = (count(ctx c) + k) / (count(ctx) + k V) for the last n-1
      characters (all of them, if fewer); a context never seen gives 1/V for every c.
    - "interpolated" (absolute discounting): p_j(c) = (max(count(ctx_j c) - d, 0)
      + d * types(ctx_j) * p_{j-1}(c)) / count(ctx_j), where ctx_j is the last j
      characters, p_{-1} = 1/V, and a context never seen keeps p_{j-1}.
    """
    n = _check_ngram_options(counts, n, smoothing, k, discount)
    V = counts.vocab_size
    context = _check_ids("context", context, V, min_len=0)
    context = context[max(len(context) - (n - 1), 0):]  # only the last n-1 characters matter
    history = np.zeros((V, n - 1), dtype=np.int64)
    if len(context):
        history[:, n - 1 - len(context):] = context
    known = np.full(V, len(context))
    return _ngram_target_probs(counts, history, known, np.arange(V), n, smoothing, k, discount)


def ngram_target_probs(counts: NGramCounts, ids, n: int | None = None,
                       smoothing: str = "interpolated", k: float = 1.0,
                       discount: float = 0.75) -> np.ndarray:
    """p(ids[t] | the up to n-1 ids before it) for t = 1 .. N-1: shape (N-1,).

    ids (N,): a text to score, e.g. held-out text. The first character has no
    context and is not scored. Options as in ``ngram_probs``.
    """
    n = _check_ngram_options(counts, n, smoothing, k, discount)
    ids = _check_ids("ids", ids, counts.vocab_size, min_len=2)
    padded = np.concatenate([np.zeros(n - 1, dtype=np.int64), ids])
    history = np.lib.stride_tricks.sliding_window_view(padded, n)[1:len(ids), : n - 1]  # (N-1, n-1)
    known = np.arange(1, len(ids))  # position t has t characters before it
    return _ngram_target_probs(counts, history, known, ids[1:], n, smoothing, k, discount)


def ngram_loss(counts: NGramCounts, ids, n: int | None = None, smoothing: str = "interpolated",
               k: float = 1.0, discount: float = 0.75) -> float:
    """Mean loss in nats per character of the n-gram model on ``ids`` (N,), like ``evaluate``.

    Every character after the first is predicted from the up to n-1 before it;
    exp() of the result is the perplexity. Options as in ``ngram_probs``.
    """
    return float(-np.mean(np.log(ngram_target_probs(counts, ids, n, smoothing, k, discount))))


# --------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (exit status 2)."""

    def error(self, message):  # one line, exit status 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind, zero_ok=False):
    """An argparse type: a finite number of ``kind`` above 0 (or also 0, if zero_ok)."""
    what = f"{'a non-negative' if zero_ok else 'a positive'} {kind.__name__}"

    def parse(s):
        try:
            v = kind(s)
        except ValueError:
            v = None
        if v is None or not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}")
        return v
    return parse


def _seed(s):
    """An argparse type: an int in [0, 2**63), what a checkpoint can store as meta."""
    try:
        v = int(s)
    except ValueError:
        v = -1
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**63), got {s!r}")
    return v


def _fraction(s):
    """An argparse type: a number in (0, 1]."""
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {s!r}")
    return v


_SHOWN_AS_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str) -> str:
    """Text with control characters (except newline and tab) written as escapes like
    ``\\x1b``, so a checkpoint's vocabulary cannot send escape sequences to a terminal."""
    return _SHOWN_AS_ESCAPES.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _Stdout:
    """Printing that never ends a run: characters stdout cannot encode are written as
    escapes, and once stdout is closed or full, later output is dropped (``error``)."""

    def __init__(self):
        self.error = None

    def __call__(self, text: str) -> None:
        if self.error is not None:
            return
        out = sys.stdout
        try:
            try:
                out.write(text + "\n")
            except UnicodeEncodeError:
                enc = out.encoding or "ascii"
                out.write((text + "\n").encode(enc, "backslashreplace").decode(enc))
            out.flush()
        except (OSError, ValueError) as e:  # broken pipe, disk full, closed file
            self.error = e
            with contextlib.suppress(OSError, ValueError, AttributeError):
                devnull = os.open(os.devnull, os.O_WRONLY)  # so exit's flush fails no more
                os.dup2(devnull, out.fileno())
                os.close(devnull)


def _check_out(out: str, data: str) -> None:
    """Before training: ``--out`` names a file that can be written and is not the corpus."""
    try:
        target = _checkpoint_target(out)
    except ValueError as e:
        raise ValueError(f"--out: {e}") from None
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ValueError(f"--out: folder of {out!r} does not exist")
    with contextlib.suppress(OSError):
        if os.path.samefile(target, data):
            raise ValueError(f"--out {out!r} is the training text --data; choose another name")
    try:
        if os.path.exists(target):  # it will be replaced: the folder must take a new file
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".checkpoint-{os.getpid()}-",
                                       suffix=".tmp")
        else:  # try the very name (too long? read-only folder?), then remove it again
            fd, tmp = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), target
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise ValueError(f"--out: cannot write {out!r}: {e.strerror}") from None


def _check_memory(nbytes: float, what: str) -> None:
    """Raise ValueError if ``what`` needs more bytes than the machine's memory."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    if nbytes > total:
        raise ValueError(f"{what} would need about {nbytes / 2**30:,.1f} GiB of memory; "
                         f"this machine has {total / 2**30:,.1f} GiB")


class _Interrupted(Exception):
    """Raised from the training callback after Ctrl-C; holds the last finished step."""

    def __init__(self, step):
        super().__init__("interrupted")
        self.step = step


def _cmd_train(args, say) -> int:
    """``train``: load the text, train with progress lines and samples, save checkpoints."""
    _check_out(args.out, args.data)
    full_text = load_text(args.data)
    text, held_out = split_text(full_text, args.train_fraction)
    vocab = Vocab.from_text(full_text)  # the held-out part may hold characters training lacks
    V, H, T, B = vocab.size, args.hidden_size, args.seq_length, args.batch_size
    itemsize = 4 if args.float32 else 8
    _check_memory(((2 * H * V + H * H + H + V) * 6 + (2 * H + 3 * V) * T * B) * itemsize
                  + 16 * args.iters + 16 * len(text),
                  f"--hidden-size {H} --seq-length {T} --batch-size {B} --iters {args.iters}")
    start, last = time.perf_counter(), [time.perf_counter(), 0]
    chars_per_iter = T * B
    interrupted = []

    def report(step):
        if interrupted:
            raise _Interrupted(step)
        done, smooth, params = step.iteration + 1, step.smooth_loss, step.params
        if done % args.print_every == 0 or done == args.iters:
            now = time.perf_counter()
            speed = (done - last[1]) * chars_per_iter / max(now - last[0], 1e-9)
            last[:] = [now, done]
            say(f"iter {done:>7}  smooth loss {smooth:8.3f}  {speed:10,.0f} chars/s")
        if args.sample_every and done % args.sample_every == 0:
            txt = generate(params, vocab, text[0], 200, np.random.default_rng(done), 0.8)
            say("----\n" + _printable(txt) + "\n----")
        if args.checkpoint_every and done % args.checkpoint_every == 0:
            save_checkpoint(args.out, params, vocab, iteration=done, smooth_loss=smooth)

    # Ctrl-C only raises a flag; the callback stops after the update that is under way.
    # Only the main thread may set handlers (elsewhere Ctrl-C stays a KeyboardInterrupt),
    # and a run started with Ctrl-C ignored (`nohup ... &`) keeps ignoring it.
    in_main = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
    if in_main:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    try:  # the final save, too, runs with Ctrl-C deferred
        try:
            result = train(text, hidden_size=H, seq_length=T, learning_rate=args.learning_rate,
                           num_iters=args.iters, seed=args.seed, batch_size=B, clip=args.clip,
                           vocab=vocab, dtype=np.float32 if args.float32 else np.float64,
                           callback=report, cell=args.cell)
            stopped, done, params = None, args.iters, result.params
            smooth = float(result.smooth_losses[-1]) if args.iters else float("nan")
        except _Interrupted as stop:
            stopped, done, params = stop, stop.step.iteration + 1, stop.step.params
            smooth = stop.step.smooth_loss
        save_checkpoint(args.out, params, vocab, iteration=done, smooth_loss=smooth,
                        seed=args.seed, cell=args.cell, data=os.path.basename(args.data),
                        train_fraction=args.train_fraction, train_chars=len(text))
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    if stopped:
        print(f"interrupted: saved {args.out} after {done} of {args.iters} iterations",
              file=sys.stderr)
        return 130
    say(f"saved {args.out} after {args.iters} iterations in "
        f"{time.perf_counter() - start:.1f} s (smooth loss {smooth:.3f})")
    if held_out[1:]:
        loss = evaluate(params, vocab.encode(held_out))
        say(f"held-out loss {loss:.3f} nats/char (perplexity {math.exp(loss):.2f}) on the last "
            f"{len(held_out):,} characters, which training never read")
    return 0


def _cmd_sample(args, say) -> int:
    """``sample``: load a checkpoint and print prime + length sampled characters."""
    _check_memory(64 * args.length, f"--length {args.length}")
    params, vocab, _ = load_checkpoint(args.checkpoint)
    say(_printable(generate(params, vocab, args.prime or vocab.chars[0], args.length,
                            np.random.default_rng(args.seed), args.temperature)))
    return 0


def main(argv=None) -> int:
    """``python -m charrnn_core train ...`` / ``sample ...``. Returns the exit status.

    Every failure is one line on stderr: exit status 2 for bad arguments, files or
    sizes, 1 when stdout could not be written, 130 after Ctrl-C.
    """
    parser = _Parser(prog="python -m charrnn_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pos_int, pos_float, count = _number(int), _number(float), _number(int, zero_ok=True)

    t = sub.add_parser("train", help="train a model on a text file and save a checkpoint")
    t.add_argument("--data", required=True, help="UTF-8 text file to learn from")
    t.add_argument("--out", default="model.npz", help="checkpoint to write (default model.npz)")
    t.add_argument("--cell", choices=CELLS, default="rnn",
                   help="rnn (the gist's vanilla RNN, default) or lstm")
    t.add_argument("--hidden-size", type=pos_int, default=100)
    t.add_argument("--seq-length", type=pos_int, default=25)
    t.add_argument("--learning-rate", type=pos_float, default=0.1)
    t.add_argument("--iters", type=pos_int, default=2000)
    t.add_argument("--batch-size", type=pos_int, default=1)
    t.add_argument("--clip", type=pos_float, default=5.0, help="elementwise clip limit")
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--train-fraction", type=_fraction, default=1.0,
                   help="train on this leading share of the text, hold out the rest (default 1)")
    t.add_argument("--float32", action="store_true", help="train in float32 (faster)")
    t.add_argument("--print-every", type=pos_int, default=100)
    t.add_argument("--sample-every", type=count, default=1000, help="0 turns samples off")
    t.add_argument("--checkpoint-every", type=count, default=1000, help="0: only at the end")

    s = sub.add_parser("sample", help="generate text from a checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--length", type=count, default=500)
    s.add_argument("--temperature", type=pos_float, default=1.0)
    s.add_argument("--prime", default="", help="text to start from (default: first character)")
    s.add_argument("--seed", type=_seed, default=0)

    args = parser.parse_args(argv)
    say = _Stdout()
    try:
        status = (_cmd_train if args.command == "train" else _cmd_sample)(args, say)
    except (ValueError, TypeError, TrainingDiverged) as e:
        print(f"{parser.prog} {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{parser.prog} {args.command}: error: out of memory; try a smaller "
              "--hidden-size, --batch-size, --iters or --length", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    if say.error is not None:
        print(f"{parser.prog} {args.command}: error: cannot write to stdout: "
              f"{getattr(say.error, 'strerror', None) or say.error}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
