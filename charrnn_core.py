"""A vanilla character-level RNN in NumPy, after Karpathy's ``min-char-rnn.py``.

The notebooks in ``notebooks/`` derive every function here, then import it.
The module reads in the order of the story:

    data -> vocabulary / one-hot -> parameters -> forward -> loss -> backward
    -> gradient check -> clipping -> optimizer -> training -> sampling
    -> checkpoints -> command line

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

Randomness comes only from an explicit ``np.random.Generator`` argument, and the
library never prints: the command line at the bottom does that.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np

PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


# ----------------------------------------------------------------------------- data


def load_text(path) -> str:
    """Read a UTF-8 text file to train on.

    Raises ValueError naming ``path`` if the file is missing, empty, not UTF-8,
    or has fewer than 2 distinct characters (nothing to predict).
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ValueError(f"cannot read text file {str(path)!r}: {e.strerror}") from None
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
    if not 0 <= ix < vocab_size:
        raise ValueError(f"ix must be in [0, {vocab_size}), got {ix}")
    x = np.zeros((vocab_size, 1))
    x[ix] = 1.0
    return x


# ----------------------------------------------------------------------- parameters


def _require_ints(smallest=1, **values):
    """Raise ValueError naming the first value that is not an int >= smallest."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value < smallest:
            kind = "positive" if smallest == 1 else "non-negative"
            raise ValueError(f"{name} must be a {kind} integer, got {value!r}")


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
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {list(PARAM_NAMES)}, got {got}")
    H, V = np.shape(params["Wxh"]) if np.ndim(params["Wxh"]) == 2 else (0, 0)
    for name, shape in param_shapes(V, H).items():
        if np.shape(params[name]) != shape or V < 1 or H < 1:
            raise ValueError(
                f"params[{name!r}] has shape {np.shape(params[name])}, expected {shape} "
                f"(V={V}, H={H} from Wxh)"
            )
    return V, H


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
    if np.shape(hprev) != hshape:
        raise ValueError(f"hprev must have shape {hshape}, got {np.shape(hprev)}")
    return inputs, targets


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


def evaluate(params, ids, streams: int = 64) -> float:
    """Mean loss in nats per character of the model on the id sequence ``ids`` (N,).

    No gradients, no updates: the text is cut into ``streams`` contiguous pieces
    (as ``batch_streams`` does), each read from a zero hidden state that is then
    carried along, and every character after the first of a piece is predicted.
    exp() of the result is the perplexity.
    """
    V, H = check_params(params)
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() >= V)):
        raise ValueError(f"ids must be a 1-d array of ints in [0, {V}), got {ids.dtype} {ids.shape}")
    _require_ints(streams=streams)
    streams = min(streams, len(ids) // 2)
    if streams < 1:
        raise ValueError(f"ids must hold at least 2 characters, got {len(ids)}")
    x = batch_streams(ids, streams, 1)  # (N // streams, streams)
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    h = np.zeros((H, streams), dtype=Whh.dtype)
    total = 0.0
    for t in range(len(x) - 1):
        h = np.tanh(Wxh[:, x[t]] + Whh @ h + bh)
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
    is the function differentiated numerically. ``num_checks`` entries per
    parameter are drawn with ``rng``; None checks every entry. The sample of ``Wxh``
    is drawn from the columns of characters that occur in ``inputs``: any other
    column's gradient is exactly 0 in both backprop and finite differences, so an
    entry drawn there would test nothing.
    Returns {name: max relative error}. Correct gradients score below 1e-7 in float64,
    except entries whose true gradient is tiny (say < 1e-4), where the rounding noise of
    the loss (about 1e-10 after dividing by 2h) dominates; notebook 05 shows this.
    """
    if grad_fn is None:
        grad_fn = loss_and_grads_batch if np.ndim(inputs) == 2 else loss_and_grads
    if num_checks is not None and not isinstance(rng, np.random.Generator):
        raise TypeError("sampling entries (num_checks) needs rng, a np.random.Generator")
    _, grads, _ = grad_fn(params, inputs, targets, hprev)
    errors = {}
    for name in PARAM_NAMES:
        x = params[name]
        indices = None
        if num_checks is not None and num_checks < x.size:
            candidates = np.arange(x.size)
            if name == "Wxh":  # entries in the columns of the input characters
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


def batch_streams(data: np.ndarray, batch_size: int, seq_length: int) -> np.ndarray:
    """Cut the encoded text into B contiguous streams, one per column: (N // B, B).

    Column b is data[b * (N // B) : (b + 1) * (N // B)]; each stream keeps its own
    hidden state in training, as in char-rnn. B = 1 is the gist's single pass.
    """
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
          params: dict | None = None, vocab: Vocab | None = None, callback=None) -> TrainResult:
    """The gist's training loop, batched.

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
    ``params`` (and ``vocab``) to continue training a model.
    Raises TrainingDiverged if the loss becomes NaN or infinite.
    """
    _require_ints(hidden_size=hidden_size, seq_length=seq_length, batch_size=batch_size)
    _require_ints(smallest=0, num_iters=num_iters)
    if clip_mode not in ("elementwise", "global"):
        raise ValueError(f"clip_mode must be 'elementwise' or 'global', got {clip_mode!r}")
    if optimizer not in ("adagrad", "sgd"):
        raise ValueError(f"optimizer must be 'adagrad' or 'sgd', got {optimizer!r}")
    vocab = vocab or Vocab.from_text(text)
    streams = batch_streams(vocab.encode(text), batch_size, seq_length)
    rng = np.random.default_rng(seed)
    if params is None:
        params = init_params(vocab.size, hidden_size, rng, dtype=dtype)
    V, H = check_params(params)
    if V != vocab.size:
        raise ValueError(f"params are for V={V} characters, the vocabulary has {vocab.size}")
    opt = (Adagrad if optimizer == "adagrad" else SGD)(params, learning_rate)

    losses = np.empty(num_iters)
    smooth_losses = np.empty(num_iters)
    smooth = seq_length * math.log(V)
    hprev = np.zeros((H, batch_size), dtype=params["Whh"].dtype)
    p = 0
    with np.errstate(all="ignore"):  # an overflow shows up as a non-finite loss below
        for it in range(num_iters):
            if p + seq_length + 1 > len(streams):
                p, hprev = 0, np.zeros_like(hprev)
            inputs, targets = streams[p:p + seq_length], streams[p + 1:p + seq_length + 1]
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
    return TrainResult(params, vocab, losses, smooth_losses, hprev)


# ------------------------------------------------------------------------- sampling


def warm_up(params, ids, h):
    """Run the recurrence over ``ids`` (ints) from hidden state h (H, 1); return the new h."""
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    for ix in ids:
        h = np.tanh(Wxh[:, ix:ix + 1] + Whh @ h + bh)
    return h


def sample(params, h, seed_ix: int, n: int, rng: np.random.Generator,
           temperature: float = 1.0) -> list:
    """Draw n character ids from the model, feeding each one back in.

    h: (H, 1) starting hidden state; seed_ix: the id fed in first.
    Each step draws from softmax(y / temperature): below 1 sharper (safer,
    more repetitive), above 1 flatter (more surprising). Returns a list of n ints.
    """
    V, H = check_params(params)
    _require_ints(smallest=0, n=n)
    if not (isinstance(temperature, (int, float, np.floating)) and temperature > 0
            and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if not 0 <= seed_ix < V:
        raise ValueError(f"seed_ix must be in [0, {V}), got {seed_ix}")
    if np.shape(h) != (H, 1):
        raise ValueError(f"h must have shape ({H}, 1), got {np.shape(h)}")
    _require_rng(rng)
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    uniforms = rng.random(n)  # one draw per character, made up front
    ix, ixes = seed_ix, []
    for u in uniforms:
        h = np.tanh(Wxh[:, ix:ix + 1] + Whh @ h + bh)
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
    V, _ = check_params(params)
    if vocab.size != V:
        raise ValueError(f"vocab has {vocab.size} characters but params are for V={V}")
    ids = vocab.encode(prime)
    h = warm_up(params, ids[:-1], np.zeros((params["Whh"].shape[0], 1), params["Whh"].dtype))
    return prime + vocab.decode(sample(params, h, int(ids[-1]), n, rng, temperature))


# ---------------------------------------------------------------------- checkpoints


def save_checkpoint(path, params, vocab: Vocab, **meta) -> None:
    """Write params, vocabulary and meta (ints, floats, strings) to an .npz file.

    Written to a temporary file beside ``path`` and renamed over it, so a crash
    leaves either the old checkpoint or the new one, never half a file.
    """
    check_params(params)
    for k, v in meta.items():
        if k in PARAM_NAMES or k == "chars" or not isinstance(v, (int, float, str, np.number)):
            raise ValueError(f"meta {k!r} must be an int, float or str not named like a parameter")
    arrays = {k: np.asarray(v) for k, v in params.items()}
    arrays["chars"] = np.array(vocab.chars)
    arrays.update({f"meta_{k}": np.array(v) for k, v in meta.items()})
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
    except OSError as e:
        raise ValueError(f"cannot write checkpoint {str(path)!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; give it normal file permissions
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``: returns (params, vocab, meta).

    No pickles are loaded. A missing, truncated or foreign file, or arrays whose
    shapes do not fit together, raise ValueError naming the path.
    """
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"cannot read checkpoint {str(path)!r}: {e}") from None
    missing = [k for k in (*PARAM_NAMES, "chars") if k not in arrays]
    if missing:
        raise ValueError(f"checkpoint {str(path)!r} lacks {missing}")
    try:
        vocab = Vocab(str(arrays["chars"]))
        params = {k: arrays[k] for k in PARAM_NAMES}
        V, _ = check_params(params)
        if V != vocab.size:
            raise ValueError(f"Wxh is for V={V} characters, the vocabulary has {vocab.size}")
        if any(not np.all(np.isfinite(v)) for v in params.values()):
            raise ValueError("parameters hold NaN or infinity")
        bad = [k for k in arrays if k.startswith("meta_") and arrays[k].ndim != 0]
        if bad:
            raise ValueError(f"meta entries {bad} are not single values")
        meta = {k[5:]: arrays[k].item() for k in arrays if k.startswith("meta_")}
    except (ValueError, TypeError) as e:
        raise ValueError(f"checkpoint {str(path)!r} is not valid: {e}") from None
    return params, vocab, meta


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


def _fraction(s):
    """An argparse type: a number in (0, 1]."""
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {s!r}")
    return v


def _cmd_train(args) -> None:
    """``train``: load the text, train with progress lines and samples, save checkpoints."""
    full_text = load_text(args.data)
    text, held_out = split_text(full_text, args.train_fraction)
    start, last = time.perf_counter(), [time.perf_counter(), 0]
    chars_per_iter = args.seq_length * args.batch_size

    def report(step):
        done, smooth, params = step.iteration + 1, step.smooth_loss, step.params
        if done % args.print_every == 0 or done == args.iters:
            now = time.perf_counter()
            speed = (done - last[1]) * chars_per_iter / max(now - last[0], 1e-9)
            last[:] = [now, done]
            print(f"iter {done:>7}  smooth loss {smooth:8.3f}  {speed:10,.0f} chars/s", flush=True)
        if args.sample_every and done % args.sample_every == 0:
            txt = generate(params, vocab, text[0], 200, np.random.default_rng(done), 0.8)
            print("----\n" + txt + "\n----", flush=True)
        if args.checkpoint_every and done % args.checkpoint_every == 0:
            save_checkpoint(args.out, params, vocab, iteration=done, smooth_loss=smooth)

    vocab = Vocab.from_text(full_text)  # the held-out part may hold characters training lacks
    result = train(text, hidden_size=args.hidden_size, seq_length=args.seq_length,
                   learning_rate=args.learning_rate, num_iters=args.iters, seed=args.seed,
                   batch_size=args.batch_size, clip=args.clip, vocab=vocab,
                   dtype=np.float32 if args.float32 else np.float64, callback=report)
    smooth = float(result.smooth_losses[-1]) if args.iters else float("nan")
    save_checkpoint(args.out, result.params, vocab, iteration=args.iters, smooth_loss=smooth,
                    seed=args.seed, data=os.path.basename(args.data),
                    train_fraction=args.train_fraction, train_chars=len(text))
    print(f"saved {args.out} after {args.iters} iterations in "
          f"{time.perf_counter() - start:.1f} s (smooth loss {smooth:.3f})")
    if held_out[1:]:
        loss = evaluate(result.params, vocab.encode(held_out))
        print(f"held-out loss {loss:.3f} nats/char (perplexity {math.exp(loss):.2f}) on the last "
              f"{len(held_out):,} characters, which training never read")


def _cmd_sample(args) -> None:
    """``sample``: load a checkpoint and print prime + length sampled characters."""
    params, vocab, _ = load_checkpoint(args.checkpoint)
    print(generate(params, vocab, args.prime or vocab.chars[0], args.length,
                   np.random.default_rng(args.seed), args.temperature))


def main(argv=None) -> int:
    """``python -m charrnn_core train ...`` / ``sample ...``. Returns the exit status."""
    parser = _Parser(prog="python -m charrnn_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pos_int, pos_float, count = _number(int), _number(float), _number(int, zero_ok=True)

    t = sub.add_parser("train", help="train a model on a text file and save a checkpoint")
    t.add_argument("--data", required=True, help="UTF-8 text file to learn from")
    t.add_argument("--out", default="model.npz", help="checkpoint to write (default model.npz)")
    t.add_argument("--hidden-size", type=pos_int, default=100)
    t.add_argument("--seq-length", type=pos_int, default=25)
    t.add_argument("--learning-rate", type=pos_float, default=0.1)
    t.add_argument("--iters", type=pos_int, default=2000)
    t.add_argument("--batch-size", type=pos_int, default=1)
    t.add_argument("--clip", type=pos_float, default=5.0, help="elementwise clip limit")
    t.add_argument("--seed", type=int, default=0)
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
    s.add_argument("--seed", type=int, default=0)

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
                raise ValueError(f"--out: folder of {args.out!r} does not exist")
            _cmd_train(args)
        else:
            _cmd_sample(args)
    except (ValueError, TypeError, TrainingDiverged) as e:
        print(f"{parser.prog} {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
