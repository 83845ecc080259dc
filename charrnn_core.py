"""A character-level RNN in NumPy, after Karpathy's ``min-char-rnn.py``: the model a learner reads.

The notebooks in ``notebooks/`` derive every function here, then import it, in this order:

    vocabulary, one-hot -> parameters -> one step -> forward -> backward (dhnext)
    -> the batched pass -> the LSTM -> gradient checking -> clipping -> optimizers
    -> training -> sampling and evaluation -> n-gram baseline -> input checks

Files, checkpoints and the command line (``python -m charrnn_core train|sample``) are in
``charrnn_io``, which a learner need not read.

Names follow the math (and the gist). Shapes use these letters:

    V  vocabulary size (distinct characters)    T  sequence length (steps unrolled per update)
    H  hidden size                              B  batch size (sequences side by side)

    Wxh (H, V)  input  -> hidden     bh (H, 1)  hidden bias
    Whh (H, H)  hidden -> hidden     by (V, 1)  output bias
    Why (V, H)  hidden -> output (the gist calls it Why; "hidden to y")

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)     hidden state   (H, 1)
    y_t = Why h_t + by                          logits         (V, 1)
    p_t = softmax(y_t)                          probabilities  (V, 1)
    L   = sum_t -log p_t[target_t]              loss (a sum over time, as in the gist)

Randomness comes only from an explicit ``np.random.Generator`` argument; nothing here prints.
"""

from __future__ import annotations

if __name__ == "__main__":  # `python -m charrnn_core train|sample`: the command line is in charrnn_io,
    import os, sys            # with one BLAS thread (set before NumPy loads): the same numbers in any shell
    os.environ.update(dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
    try:
        import charrnn_io
    except KeyboardInterrupt:  # Ctrl-C while NumPy loads: no traceback
        sys.exit(130)
    sys.exit(charrnn_io.main())

import math
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np


# ------------------------------------------------------------------ vocabulary, one-hot

@dataclass(frozen=True)
class Vocab:
    """The characters a model knows, and their integer ids (notebook 01).

    ``chars`` is sorted, so the same text always gives the same ids (a set's
    order would change from run to run).
    """

    chars: str
    index: dict = field(init=False, repr=False, compare=False)  # char -> id (the gist's char_to_ix)
    _table: np.ndarray = field(init=False, repr=False, compare=False)  # code point -> id, or -1

    def __post_init__(self):
        _check_text("chars", self.chars)
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
        _check_text("text", text)
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """V, the number of characters."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Characters -> ids, an int array of shape (len(text),)."""
        codes = np.frombuffer(_check_text("text", text).encode("utf-32-le"), dtype=np.uint32)
        ids = self._table[np.minimum(codes, len(self._table) - 1)]  # -1: not in the vocabulary
        if ids.size and ids.min() < 0:
            c = text[int(np.argmax(ids < 0))]
            raise ValueError(f"character {c!r} (U+{ord(c):04X}) is not in the vocabulary of "
                             f"{self.size} characters")
        return ids

    def decode(self, ids) -> str:
        """Ids (any sequence of ints in [0, V)) -> characters."""
        return "".join(self.chars[i] for i in _check_ids("ids", ids, self.size, min_len=0))


def one_hot(ix: int, vocab_size: int) -> np.ndarray:
    """The column vector x (V, 1) with x[ix] = 1 and zeros elsewhere (notebook 01).

    ``Wxh @ one_hot(ix, V) == Wxh[:, [ix]]``: it selects a column, so the core indexes instead."""
    vocab_size = _check_int("vocab_size", vocab_size)
    x = np.zeros((vocab_size, 1))
    x[_check_int("ix", ix, 0, vocab_size - 1)] = 1.0
    return x


def split_text(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """Cut ``text`` into (training text, held-out text) at ``train_fraction`` of its length.

    One contiguous cut, not a shuffle (notebook 02): the held-out part is text a model
    trained on the first part has never read. The shipped checkpoint used 0.9.
    """
    cut = round(len(_check_text("text", text)) * _check_number("train_fraction", train_fraction, 0, 1))
    return text[:cut], text[cut:]


# ----------------------------------------------------------------------- parameters

PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def param_shapes(vocab_size: int, hidden_size: int) -> dict:
    """The shape each RNN parameter has for the given V and H (notebook 00)."""
    V, H = vocab_size, hidden_size
    return {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}


def init_params(vocab_size: int, hidden_size: int, rng: np.random.Generator,
                scale: float = 0.01, dtype=np.float64) -> dict:
    """Small random weights and zero biases, with the gist's shapes (notebook 00).

    Returns {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}.
    Weights are ``scale * standard normal``, drawn in the order Wxh, Whh, Why.
    """
    V, H, scale, dtype = _check_init(vocab_size, hidden_size, rng, scale, dtype)
    return {
        "Wxh": (rng.standard_normal((H, V)) * scale).astype(dtype),
        "Whh": (rng.standard_normal((H, H)) * scale).astype(dtype),
        "Why": (rng.standard_normal((V, H)) * scale).astype(dtype),
        "bh": np.zeros((H, 1), dtype=dtype),
        "by": np.zeros((V, 1), dtype=dtype),
    }


# ----------------------------------------------------------- one step, forward, loss

def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over axis 0: (V, ...) logits -> (V, ...) probabilities summing to 1 (notebook 02).

    Subtracting the column maximum first changes nothing mathematically
    (softmax(z) == softmax(z - c)) but keeps exp() from overflowing.
    """
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def rnn_step(params, ix, h):
    """One step of the RNN: h_t = tanh(Wxh x_t + Whh h_{t-1} + bh) (notebook 01).

    ix: B ints (the input characters, one per column); h: h_{t-1} (H, B). Returns h_t
    (H, B). ``Wxh @ x_t`` for a one-hot x_t is column ix of Wxh: indexing, not multiplying.
    """
    return np.tanh(params["Wxh"][:, ix] + params["Whh"] @ h + params["bh"])


def forward(params, inputs, targets, hprev):
    """Run the RNN over one sequence and add up the loss (notebook 02).

    inputs, targets: T ints each (targets[t] is the character after inputs[t]); hprev:
    (H, 1), the state carried over. Returns (loss, cache): loss = sum_t -log p_t[targets[t]]
    and the cache (inputs, targets, hs, ps) for ``backward``: hs[t] is h_t (H, 1) for
    t = -1 .. T-1 (hs[-1] = hprev, as in the gist), ps[t] is p_t (V, 1).
    """
    inputs, targets = _check_sequences(params, inputs, targets, (hprev,))
    Why, by = params["Why"], params["by"]
    hs, ps = {-1: hprev}, {}
    loss = 0.0
    for t in range(len(inputs)):
        hs[t] = rnn_step(params, inputs[t:t + 1], hs[t - 1])
        ps[t] = softmax(Why @ hs[t] + by)
        p_target = ps[t][targets[t], 0]
        loss -= math.log(p_target) if p_target > 0 else -math.inf  # underflow: infinite loss
    return loss, (inputs, targets, hs, ps)


# ------------------------------------------------------------------------- backward

def backward(params, cache, last_step_only=False):
    """Backpropagation through time for the sequence that ``forward`` ran (notebooks 03-04).

    Returns (grads, dhs): grads has the keys and shapes of params (not clipped); dhs
    (T, H) has row t = dL/dh_t. ``last_step_only`` differentiates the last step's loss
    alone, to show how one loss's gradient fades as it travels back in time (notebook 07).
    """
    inputs, targets, hs, ps = cache
    Whh, Why = params["Whh"], params["Why"]
    T = len(inputs)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dhs = np.zeros((T, Whh.shape[0]), dtype=Whh.dtype)
    dhnext = np.zeros_like(hs[-1])  # no gradient arrives from beyond the last step
    for t in reversed(range(T)):
        dy = ps[t].copy()  # a copy: the next line must not change ps[t] itself
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
    """Loss, gradients and last hidden state for one sequence: the gist's lossFun (notebook 04).

    inputs, targets: T ints; hprev: (H, 1).
    Returns (loss, grads, h_last): loss is the sum over the T steps, grads has
    the keys and shapes of params (not clipped), h_last is h_{T-1} (H, 1).
    """
    loss, cache = forward(params, inputs, targets, hprev)
    grads, _ = backward(params, cache)
    return loss, grads, cache[2][len(cache[0]) - 1]


def hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True) -> np.ndarray:
    """||dL/dh_t|| for t = 0 .. T-1, shape (T,) (notebook 07).

    By default L is the last step's loss alone, so entry t measures how much of that one
    gradient survives T-1-t steps back in time; ``last_step_only=False``: the whole loss."""
    _, cache = forward(params, inputs, targets, hprev)
    _, dhs = backward(params, cache, last_step_only=last_step_only)
    return np.linalg.norm(dhs, axis=1)


# ------------------------------------------------------------------ the batched pass

def loss_and_grads_batch(params, inputs, targets, hprev):
    """``loss_and_grads`` for B sequences at once, with matrix-matrix products (notebook 09).

    inputs, targets: int arrays (T, B), column b being one sequence; hprev: (H, B).
    Returns (loss, grads, h_last (H, B)); loss and grads are *sums* over the B
    sequences, so B = 1 gives exactly ``loss_and_grads``.
    """
    inputs, targets = _check_sequences(params, inputs, targets, (hprev,), batched=True)
    return _rnn_batch(params, inputs, targets, hprev)


def _rnn_batch(params, inputs, targets, hprev):
    """The body of ``loss_and_grads_batch`` for checked arguments (``train`` checks once).

    The hidden states of all steps sit side by side as the columns of one (H, T*B) matrix
    (column t*B + b: step t of sequence b); only the recurrence loops over time."""
    Whh, Why, by = params["Whh"], params["Why"], params["by"]
    T, B = inputs.shape
    V, H = Why.shape
    cols, targets = np.arange(T * B), targets.ravel()  # one column per (step, sequence)

    # forward: hs[:, t + 1] = h_t (H, B), hs[:, 0] = hprev
    hs = np.empty((H, T + 1, B), dtype=Whh.dtype)
    hs[:, 0] = hprev
    for t in range(T):
        hs[:, t + 1] = rnn_step(params, inputs[t], hs[:, t])
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
# forget gate of Gers et al. 2000). Notebook 10. Besides h_t it carries a cell state
# c_t (H, 1), which is updated by *adding* to it, so its gradient is not squeezed
# through a matrix and a tanh at every step:
#
#     z_t = Wx[:, x_t] + Wh h_{t-1} + b                 pre-activations  (4H, 1)
#     i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)   input, forget, output gates
#     g   = tanh(z_g)                                     candidate content
#     c_t = f * c_{t-1} + i * g                           cell state (H, 1)
#     h_t = o * tanh(c_t)                                 hidden state (H, 1)
#     y_t = Why h_t + by                                  logits, as in the RNN
#
#     Wx (4H, V)  input  -> gates      b (4H, 1)  gate biases; their 4H rows hold the
#     Wh (4H, H)  hidden -> gates      gates in the order i, f, o, g (H rows each)

LSTM_PARAM_NAMES = ("Wx", "Wh", "b", "Why", "by")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise; written with tanh so it cannot overflow (notebook 10)."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def lstm_param_shapes(vocab_size: int, hidden_size: int) -> dict:
    """The shape each LSTM parameter has for the given V and H (notebook 10)."""
    V, H = vocab_size, hidden_size
    return {"Wx": (4 * H, V), "Wh": (4 * H, H), "b": (4 * H, 1), "Why": (V, H), "by": (V, 1)}


def lstm_init_params(vocab_size: int, hidden_size: int, rng: np.random.Generator,
                     scale: float = 0.01, dtype=np.float64, forget_bias: float = 1.0) -> dict:
    """Small random weights; gate biases 0 except the forget gate's, ``forget_bias`` (notebook 10).

    Returns {"Wx": (4H, V), "Wh": (4H, H), "b": (4H, 1), "Why": (V, H), "by": (V, 1)},
    gate rows in the order i, f, o, g. A forget bias of 1 starts the forget gate at
    sigmoid(1) = 0.73, so the cell keeps most of its content from the first update on.
    """
    V, H, scale, dtype = _check_init(vocab_size, hidden_size, rng, scale, dtype)
    b = np.zeros((4 * H, 1), dtype=dtype)
    b[H:2 * H] = _check_number("forget_bias", forget_bias, -math.inf, math.inf, low_open=False)
    return {
        "Wx": (rng.standard_normal((4 * H, V)) * scale).astype(dtype),
        "Wh": (rng.standard_normal((4 * H, H)) * scale).astype(dtype),
        "b": b,
        "Why": (rng.standard_normal((V, H)) * scale).astype(dtype),
        "by": np.zeros((V, 1), dtype=dtype),
    }


def lstm_cell(params, ix, h, c):
    """One LSTM step for the columns of ``ix`` (B ints); h, c: (H, B) (notebook 10).

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


def lstm_forward(params, inputs, targets, hprev, cprev):
    """Run the LSTM over one sequence and add up the loss (notebook 10).

    inputs, targets: T ints; hprev, cprev: (H, 1). Returns (loss, cache), cache = (inputs,
    targets, hs, cs, gates, tanh_cs, ps): hs[t], cs[t] are h_t, c_t (H, 1) for t = -1 .. T-1,
    gates[t] (4H, 1) is (i, f, o, g), tanh_cs[t] = tanh(c_t), ps[t] is p_t (V, 1)."""
    inputs, targets = _check_sequences(params, inputs, targets, (hprev, cprev))
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
    """Backpropagation through time for the sequence that ``lstm_forward`` ran (notebook 10).

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
    """Loss, gradients and last states for one sequence: the LSTM's ``loss_and_grads`` (notebook 10).

    inputs, targets: T ints; hprev, cprev: (H, 1).
    Returns (loss, grads, h_last, c_last): loss summed over the T steps, grads with
    the keys and shapes of params (not clipped), h_last = h_{T-1} and c_last = c_{T-1} (H, 1).
    """
    loss, cache = lstm_forward(params, inputs, targets, hprev, cprev)
    grads, _, _ = lstm_backward(params, cache)
    T = len(cache[0])
    return loss, grads, cache[2][T - 1], cache[3][T - 1]


def lstm_state_grad_norms(params, inputs, targets, hprev, cprev, last_step_only=True):
    """(||dL/dh_t||, ||dL/dc_t||) for t = 0 .. T-1, two arrays of shape (T,) (notebook 10).

    By default L is the last step's loss alone, as in ``hidden_grad_norms``.
    """
    _, cache = lstm_forward(params, inputs, targets, hprev, cprev)
    _, dhs, dcs = lstm_backward(params, cache, last_step_only=last_step_only)
    return np.linalg.norm(dhs, axis=1), np.linalg.norm(dcs, axis=1)


def lstm_loss_and_grads_batch(params, inputs, targets, hprev, cprev):
    """``lstm_loss_and_grads`` for B sequences at once, laid out as ``_rnn_batch`` (notebook 10).

    inputs, targets: (T, B) ints; hprev, cprev: (H, B). Returns (loss, grads, h_last,
    c_last), loss and grads summed over the B sequences (B = 1: ``lstm_loss_and_grads``).
    """
    inputs, targets = _check_sequences(params, inputs, targets, (hprev, cprev), batched=True)
    return _lstm_batch(params, inputs, targets, hprev, cprev)


def _lstm_batch(params, inputs, targets, hprev, cprev):
    """The body of ``lstm_loss_and_grads_batch`` for checked arguments."""
    Wh, Why, by = params["Wh"], params["Why"], params["by"]
    T, B = inputs.shape
    V, H = Why.shape
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


# --------------------------------------------------------------------- the two cells
#
# Everything that runs a model over time (training, sampling, evaluation, gradient checks,
# checkpoints, the notebooks' helpers) looks its cell up here, so both cells share one loop.
# A cell's *state* is a tuple of (H, B) arrays, h first: (h,) for the RNN, (h, c) for the LSTM.


@dataclass(frozen=True)
class Cell:
    """What the code around a model needs to know about its cell (notebook 10)."""
    name: str
    param_names: tuple
    param_shapes: Callable      # (V, H) -> {name: shape}
    init_params: Callable       # (V, H, rng, scale=, dtype=) -> params
    step: Callable              # (params, ix (B,), state) -> next state
    loss_and_grads: Callable    # (params, inputs (T,), targets, *state) -> (loss, grads, *state)
    loss_and_grads_batch: Callable  # the same for (T, B) inputs
    state_size: int             # how many (H, B) arrays the state holds


CELLS = {
    "rnn": Cell("rnn", PARAM_NAMES, param_shapes, init_params,
                lambda p, ix, state: (rnn_step(p, ix, state[0]),),
                loss_and_grads, loss_and_grads_batch, 1),
    "lstm": Cell("lstm", LSTM_PARAM_NAMES, lstm_param_shapes, lstm_init_params,
                 lambda p, ix, state: lstm_cell(p, ix, *state)[:2],
                 lstm_loss_and_grads, lstm_loss_and_grads_batch, 2),
}
_UNCHECKED_BATCH = {"rnn": _rnn_batch, "lstm": _lstm_batch}  # for train, which checks once


def cell_of(params) -> str:
    """Which cell a params dict is for, "rnn" or "lstm", read off its keys (notebook 10)."""
    for cell in CELLS.values():
        if isinstance(params, dict) and set(params) == set(cell.param_names):
            return cell.name
    keys = " or ".join(f"{list(c.param_names)} ({c.name})" for c in CELLS.values())
    raise ValueError(f"params must have the keys of one cell, {keys}; got "
                     f"{sorted(map(str, params)) if isinstance(params, dict) else _describe(params)}")


def check_params(params) -> tuple[int, int]:
    """Check that params of either cell fit together; return (V, H) (notebook 08). Else ValueError."""
    return _check_model(params)[1:]


def zero_state(params, batch_size: int = 1) -> tuple:
    """The state a sequence starts from: zero (H, B) arrays, (h,) or (h, c) (notebook 10)."""
    (cell, _, H), B = _check_model(params), _check_int("batch_size", batch_size)
    return tuple(np.zeros((H, B), dtype=params["Why"].dtype) for _ in range(cell.state_size))


# ------------------------------------------------------------------ gradient check

GRAD_CHECK_TOL = 1e-7
"""A gradient check passes when the norm-wise relative error is below this (notebook 04)."""


def norm_rel_error(a, b) -> float:
    """Norm-wise relative error ||a - b|| / (||a|| + ||b||), 0 when both are 0 (notebook 04).

    The series' measure for a gradient check: one tiny entry whose finite-difference
    estimate is mostly rounding noise cannot dominate it, as it dominates ``rel_error``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def rel_error(a, b) -> float:
    """Worst single entry's relative error max |a - b| / (|a| + |b|), 0 where both are 0 (notebook 05).

    Notebook 05: rounding noise on one tiny entry can score near 1 for correct
    code, which is why the series' gradient checks use ``norm_rel_error`` instead.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / denom)) if a.size else 0.0


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centred differences (f(x + h) - f(x - h)) / 2h for entries of x (notebook 03).

    f takes no arguments and reads x, which is nudged in place and restored.
    Returns an array of x's shape; only ``indices`` (a list of index tuples,
    default every entry) are filled in, the rest are 0.
    """
    h = _check_number("h", h)
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
               grad_fn=None, worst_entry=False) -> dict:
    """Compare analytic gradients with centred differences, per parameter (notebooks 04-05).

    Returns {name: error}: ``norm_rel_error`` over the checked entries (passes below
    ``GRAD_CHECK_TOL``), or with ``worst_entry=True`` the worst entry's ``rel_error``.
    ``hprev`` is the state: h (H, 1) for the RNN, the pair (h, c) for the LSTM.
    ``grad_fn(params, inputs, targets, *state) -> (loss, grads, ...)`` defaults to the
    cell's ``loss_and_grads`` (batched for (T, B) inputs). ``num_checks`` entries per
    parameter are drawn with ``rng`` (None: all); those of Wxh (the LSTM's Wx) from the
    input characters' columns, since every other column's gradient is exactly 0.
    """
    cell, _, H = _check_model(params)
    state = _check_state("hprev", hprev, cell, H, np.shape(inputs)[1] if np.ndim(inputs) == 2 else 1)
    if num_checks is not None:
        num_checks = _check_int("num_checks", num_checks)
        _check_rng(rng)
    if grad_fn is None:
        grad_fn = cell.loss_and_grads_batch if np.ndim(inputs) == 2 else cell.loss_and_grads
    measure = rel_error if worst_entry else norm_rel_error
    grads = grad_fn(params, inputs, targets, *state)[1]
    errors = {}
    for name, x in params.items():
        at = ...  # the entries checked: all of them, or a sample
        if num_checks is not None and num_checks < x.size:
            candidates = np.arange(x.size)
            if name in ("Wxh", "Wx"):  # entries in the columns of the input characters
                candidates = candidates.reshape(x.shape)[:, np.unique(inputs)].ravel()
            sample = rng.choice(candidates, min(num_checks, candidates.size), replace=False)
            at = np.unravel_index(sample, x.shape)
        num = numerical_gradient(lambda: grad_fn(params, inputs, targets, *state)[0], x, h,
                                 None if at is ... else list(zip(*at)))
        errors[name] = measure(grads[name][at], num[at])
    return errors


# ------------------------------------------------------------------------- clipping

def clip_elementwise(grads: dict, limit: float) -> dict:
    """The gist's clipping: each entry squeezed into [-limit, limit] (notebook 06). New arrays.

    Fast, but it can turn the gradient's direction (big entries shrink, small ones don't).
    """
    limit = _check_number("limit", limit)
    return {k: np.clip(g, -limit, limit) for k, g in _check_grads(grads).items()}


def global_norm(grads: dict) -> float:
    """sqrt of the sum of squares of every entry of every gradient (notebook 06)."""
    return math.sqrt(sum(float(np.sum(g * g)) for g in _check_grads(grads).values()))


def clip_global_norm(grads: dict, max_norm: float):
    """Rescale all gradients together so their global norm is at most max_norm (notebook 06).

    (Pascanu et al., 2013.) Keeps the direction. Returns (new grads, norm before clipping).
    """
    max_norm = _check_number("max_norm", max_norm)
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


# ------------------------------------------------------------------------ optimizers

class Adagrad:
    """Adagrad: each parameter entry gets its own step size lr / sqrt(sum of its g^2) (notebook 08).

    ``step`` updates the very arrays in ``params`` in place (``-=``), so whoever holds params
    sees the change. ``mem`` holds the running sums."""

    def __init__(self, params: dict, learning_rate: float = 0.1, eps: float = 1e-8):
        self.learning_rate = _check_number("learning_rate", learning_rate)
        self.eps = _check_number("eps", eps, low_open=False)
        self.params = params
        self.mem = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict) -> None:
        """One update. grads: the keys and shapes of params (e.g. Wxh (H, V))."""
        _check_grads(grads, self.params)
        for k, param in self.params.items():
            g = grads[k]
            self.mem[k] += g * g
            param -= self.learning_rate * g / np.sqrt(self.mem[k] + self.eps)


class SGD:
    """Plain gradient descent, param -= lr * grad, in place (notebook 08), to compare with Adagrad."""

    def __init__(self, params: dict, learning_rate: float = 0.01):
        self.learning_rate = _check_number("learning_rate", learning_rate)
        self.params = params

    def step(self, grads: dict) -> None:
        """One update. grads: the keys and shapes of params (e.g. Wxh (H, V))."""
        _check_grads(grads, self.params)
        for k, param in self.params.items():
            param -= self.learning_rate * grads[k]


# ------------------------------------------------------------------------- training

class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite (notebook 06)."""


@dataclass
class TrainResult:
    """What ``train`` returns (notebook 08); losses and smooth_losses (num_iters,) are per sequence."""
    params: dict
    vocab: Vocab
    losses: np.ndarray
    smooth_losses: np.ndarray
    hprev: np.ndarray
    cprev: np.ndarray | None = None  # the LSTM's last cell state (None for the RNN)


@dataclass
class TrainStep:
    """What ``train`` hands its callback after every update (notebooks 06, 08)."""
    iteration: int      # 0-based update number
    loss: float         # this update's loss per sequence
    smooth_loss: float  # the running average
    params: dict        # the live parameters, just updated
    grads: dict         # this update's gradients, averaged over the batch, before clipping
    clipped: dict       # what the optimizer was given (grads itself when clip is None)


def batch_streams(data: np.ndarray, batch_size: int, seq_length: int) -> np.ndarray:
    """Cut the encoded text into B contiguous streams, one per column: (N // B, B) (notebook 09).

    Column b is data[b * (N // B) : (b + 1) * (N // B)]; each stream keeps its own
    hidden state in training, as in char-rnn. B = 1 is the gist's single pass.
    """
    batch_size, seq_length = _check_int("batch_size", batch_size), _check_int("seq_length", seq_length)
    data = _check_ids("data", data, np.iinfo(np.int64).max, min_len=0)
    n = len(data) // batch_size
    if n < seq_length + 1:
        raise ValueError(f"the text ({len(data)} characters) is too short for batch_size={batch_size} "
                         f"streams of seq_length + 1 = {seq_length + 1} characters")
    return data[: n * batch_size].reshape(batch_size, n).T


def train(text: str, hidden_size: int = 100, seq_length: int = 25, learning_rate: float = 0.1,
          num_iters: int = 1000, seed: int = 0, batch_size: int = 1, clip: float | None = 5.0,
          clip_mode: str = "elementwise", optimizer: str = "adagrad", dtype=np.float64,
          params: dict | None = None, vocab: Vocab | None = None, callback=None,
          cell: str = "rnn") -> TrainResult:
    """The gist's training loop, batched, for the RNN or the LSTM (notebooks 00, 08, 09).

    Each iteration takes the next seq_length characters of each of the B streams
    (``batch_streams``), carries each stream's state over from the previous window, and
    starts again from the top (state reset to 0) when a stream runs out. Gradients are
    averaged over the B streams before clipping ("elementwise" as in the gist, "global"
    norm, or None) and an Adagrad (or "sgd") step, so learning_rate and clip mean what
    they mean at B = 1. The smoothed loss starts at seq_length * ln V and follows
    0.999 * smooth + 0.001 * loss, as in the gist. ``callback(step)`` runs after every
    update with a ``TrainStep``; give ``params`` (and ``vocab``) to continue training.
    Raises TrainingDiverged if the loss becomes NaN or infinite.
    """
    hidden_size, seq_length, batch_size = (_check_int(name, v) for name, v in (
        ("hidden_size", hidden_size), ("seq_length", seq_length), ("batch_size", batch_size)))
    num_iters, seed = _check_int("num_iters", num_iters, 0), _check_int("seed", seed, 0)
    learning_rate = _check_number("learning_rate", learning_rate)
    clip = None if clip is None else _check_number("clip", clip)
    _check_choice("clip_mode", clip_mode, ("elementwise", "global"))
    _check_choice("optimizer", optimizer, ("adagrad", "sgd"))
    _check_choice("cell", cell, tuple(CELLS))
    vocab = Vocab.from_text(text) if vocab is None else _check_vocab(vocab)
    streams = batch_streams(vocab.encode(text), batch_size, seq_length)
    rng = np.random.default_rng(seed)
    if params is None:
        params = CELLS[cell].init_params(vocab.size, hidden_size, rng, dtype=dtype)
    model, V, H = _check_model(params)
    if model.name != cell:
        raise ValueError(f"params are {model.name.upper()} parameters but cell={cell!r}")
    _check_vocab(vocab, V)
    loss_and_grads_of = _UNCHECKED_BATCH[cell]  # everything was checked above
    opt = (Adagrad if optimizer == "adagrad" else SGD)(params, learning_rate)

    losses = np.empty(num_iters)
    smooth_losses = np.empty(num_iters)
    smooth = seq_length * math.log(V)
    state = zero_state(params, batch_size)
    p = 0
    with np.errstate(all="ignore"):  # an overflow shows up as a non-finite loss below
        for it in range(num_iters):
            if p + seq_length + 1 > len(streams):
                p, state = 0, zero_state(params, batch_size)
            inputs, targets = streams[p:p + seq_length], streams[p + 1:p + seq_length + 1]
            loss, grads, *state = loss_and_grads_of(params, inputs, targets, *state)
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
    return TrainResult(params, vocab, losses, smooth_losses, state[0],
                       state[1] if len(state) > 1 else None)


# ---------------------------------------------------------- sampling and evaluation

def warm_up(params, ids, h):
    """Run the recurrence over ``ids`` (ints) from state h; return the new state (notebook 02).

    The state is h (H, 1) for the RNN, the pair (h, c) of (H, 1) arrays for the LSTM."""
    cell, V, H = _check_model(params)
    state = _check_state("h", h, cell, H)
    for ix in _check_ids("ids", ids, V, min_len=0):
        state = cell.step(params, [ix], state)
    return state if cell.state_size > 1 else state[0]


def sample(params, h, seed_ix: int, n: int, rng: np.random.Generator,
           temperature: float = 1.0) -> list:
    """Draw n character ids from the model, feeding each one back in (notebook 08).

    h: the starting state, (H, 1) or for the LSTM the pair (h, c); seed_ix: the id fed in
    first. Each step draws from softmax(y / temperature): below 1 sharper (safer, more
    repetitive), above 1 flatter (more surprising). Returns a list of n ints.
    """
    cell, V, H = _check_model(params)
    state = _check_state("h", h, cell, H)
    seed_ix, n = _check_int("seed_ix", seed_ix, 0, V - 1), _check_int("n", n, 0)
    temperature = _check_number("temperature", temperature)
    _check_rng(rng)
    uniforms = rng.random(n)  # one draw per character, made up front
    ix, ixes = seed_ix, []
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights or 1/temperature: see below
        for u in uniforms:
            state = cell.step(params, slice(ix, ix + 1), state)  # a slice: column ix as a view
            y = params["Why"] @ state[0] + params["by"]
            if not math.isfinite(y.max()):  # overflowed: the largest float instead, so no NaN
                y = np.nan_to_num(y)
            p = softmax((y - y.max()) / temperature)  # shifted first: (y - max) / tau <= 0 cannot overflow
            ix = min(int(np.searchsorted(np.cumsum(p), u, side="right")), V - 1)  # inverse-CDF draw
            ixes.append(ix)
    return ixes


def generate(params, vocab: Vocab, prime: str, n: int, rng: np.random.Generator,
             temperature: float = 1.0) -> str:
    """Text: ``prime`` followed by n sampled characters (notebook 00).

    The prime (at least one character, all in the vocabulary) sets the state; sampling
    starts from its last character."""
    _, V, _ = _check_model(params)
    _check_vocab(vocab, V)
    if not _check_text("prime", prime):
        raise ValueError("prime must hold at least one character")
    ids, state = vocab.encode(prime), zero_state(params)
    state = warm_up(params, ids[:-1], state if len(state) > 1 else state[0])
    return prime + vocab.decode(sample(params, state, int(ids[-1]), n, rng, temperature))


def evaluate(params, ids, streams: int = 64) -> float:
    """Mean loss in nats per character of either cell on the ids (N,) (notebook 08).

    The text is cut into ``streams`` contiguous pieces (``batch_streams``), each read from
    a zero state carried along; every character after a piece's first is predicted.
    exp() of the result is the perplexity.
    """
    cell, V, _ = _check_model(params)
    ids = _check_ids("ids", ids, V, min_len=2)
    streams = min(_check_int("streams", streams), len(ids) // 2)
    x = batch_streams(ids, streams, 1)  # (N // streams, streams)
    state, total = zero_state(params, streams), 0.0
    for t in range(len(x) - 1):
        state = cell.step(params, x[t], state)
        p = softmax(params["Why"] @ state[0] + params["by"])
        total -= np.log(p[x[t + 1], np.arange(streams)]).sum()
    return float(total / ((len(x) - 1) * streams))


# ------------------------------------------------------------------- n-gram baseline
#
# Not part of the gist: a counting model to read the RNN's loss against (notebook 11).
# An n-gram model predicts the next character from the n - 1 characters before it,
# using how often each (context, next character) pair occurred in the training text.


@dataclass(frozen=True)
class NGramCounts:
    """Character n-gram counts of a training text, for context lengths j = 0 .. n-1 (notebook 11).

    A context of j ids c_1 .. c_j is coded as the int sum_i c_i V^(j-i), and the pair
    (context, next id) as context * V + next. Each tuple has one entry per j.
    Made by ``ngram_counts``; read by ``ngram_probs`` and ``ngram_loss``.
    """
    n: int
    vocab_size: int
    pairs: tuple           # sorted pair codes
    pair_counts: tuple     # how often each pair occurred
    contexts: tuple        # sorted context codes
    context_counts: tuple  # how often each context was followed by a character
    context_types: tuple   # how many distinct characters followed it


def ngram_counts(ids, n: int, vocab_size: int) -> NGramCounts:
    """Count every window of 1 .. n consecutive ids in ``ids`` (N,) (a training text, encoded).

    Returns the NGramCounts of an n-gram model: contexts of 0 .. n-1 characters (notebook 11).
    """
    n, vocab_size = _check_int("n", n), _check_int("vocab_size", vocab_size)
    if n * math.log2(vocab_size) >= 62:  # without computing vocab_size ** n
        raise ValueError(f"n={n} is too large for vocab_size={vocab_size}: codes would overflow")
    ids = _check_ids("ids", ids, vocab_size, min_len=n)
    windows = [np.lib.stride_tricks.sliding_window_view(ids, j + 1) for j in range(n)]  # (N - j, j + 1)
    tables = [_count_table(w @ vocab_size ** np.arange(j, -1, -1, dtype=np.int64), vocab_size)
              for j, w in enumerate(windows)]
    return NGramCounts(n, vocab_size, *map(tuple, zip(*tables)))


def _count_table(codes, V) -> tuple:
    """(pairs, pair_counts, contexts, context_counts, context_types) of pair codes with repeats."""
    pairs, pair_counts = np.unique(codes, return_counts=True)
    contexts, which = np.unique(pairs // V, return_inverse=True)
    return pairs, pair_counts, contexts, np.bincount(which, weights=pair_counts).astype(np.int64), \
        np.bincount(which)


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
    # give what it frees to the next-shorter context's estimate, from 1/V up to n-1 characters.
    # Kneser-Ney counts, below the top order, how many distinct characters came before a string.
    p = np.full(len(targets), 1.0 / V)
    for j in range(n):
        ctx = history[:, history.shape[1] - j:] @ V ** np.arange(j - 1, -1, -1, dtype=np.int64)
        table = [getattr(counts, f.name)[j] for f in fields(counts)[2:]]  # pairs .. context_types
        if smoothing == "kneser-ney" and j < n - 1:  # the suffix of each distinct (j+2)-gram, once
            table = _count_table(counts.pairs[j + 1] % V ** (j + 1), V)
        pairs, pair_counts, contexts, context_counts, context_types = table
        total = _lookup(contexts, context_counts, ctx)
        use = (total > 0) & (known >= j)  # a context never seen leaves the shorter one's estimate
        seen = _lookup(pairs, pair_counts, ctx * V + targets)
        types = _lookup(contexts, context_types, ctx)
        mixed = (np.maximum(seen - discount, 0) + discount * types * p) / np.maximum(total, 1)
        p = np.where(use, mixed, p)
    return p


def ngram_probs(counts: NGramCounts, context, n: int | None = None, smoothing: str = "interpolated",
                k: float = 1.0, discount: float = 0.75) -> np.ndarray:
    """The n-gram model's distribution of the character after ``context`` (V,) (notebook 11).

    context: ids of the text so far (only the last n-1 are used). n: the model order,
    at most counts.n (the default): the same counts give every lower order too. smoothing:

    - "add-k": p(c | ctx) = (count(ctx c) + k) / (count(ctx) + k V) for the last n-1
      characters (all of them, if fewer); a context never seen gives 1/V for every c.
    - "interpolated" (absolute discounting): p_j(c) = (max(count(ctx_j c) - d, 0)
      + d * types(ctx_j) * p_{j-1}(c)) / count(ctx_j), where ctx_j is the last j
      characters, p_{-1} = 1/V, and a context never seen keeps p_{j-1}.
    - "kneser-ney" (interpolated): the same, but below the top order count(s) is the number of
      distinct characters seen before the string s (how many contexts it continues).
    """
    n, k, discount = _check_ngram_options(counts, n, smoothing, k, discount)
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
    """p(ids[t] | the up to n-1 ids before it) for t = 1 .. N-1: shape (N-1,) (notebook 11).

    ids (N,): a text to score, e.g. held-out text. The first character has no
    context and is not scored. Options as in ``ngram_probs``.
    """
    n, k, discount = _check_ngram_options(counts, n, smoothing, k, discount)
    ids = _check_ids("ids", ids, counts.vocab_size, min_len=2)
    padded = np.concatenate([np.zeros(n - 1, dtype=np.int64), ids])
    history = np.lib.stride_tricks.sliding_window_view(padded, n)[1:len(ids), : n - 1]  # (N-1, n-1)
    known = np.arange(1, len(ids))  # position t has t characters before it
    return _ngram_target_probs(counts, history, known, ids[1:], n, smoothing, k, discount)


def ngram_loss(counts: NGramCounts, ids, n: int | None = None, smoothing: str = "interpolated",
               k: float = 1.0, discount: float = 0.75) -> float:
    """Mean loss in nats per character of the n-gram model on ``ids`` (N,), like ``evaluate``.

    Every character after the first is predicted from the up to n-1 before it;
    exp() of the result is the perplexity. Options as in ``ngram_probs`` (notebook 11).
    """
    return float(-np.mean(np.log(ngram_target_probs(counts, ids, n, smoothing, k, discount))))


# ---------------------------------------------------------------------- input checks
#
# One helper per kind of check, called once at a public function's entry: a ValueError (a
# TypeError for a wrong kind of object) that names the argument and what was expected.


def _check_int(name, value, low=1, high=None) -> int:
    """``value`` as a Python int in [low, high]; refuses floats, bools and np.timedelta64 (ints too)."""
    kind = (f"an integer in [{low}, {high}]" if high is not None
            else {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}"))
    if (isinstance(value, (bool, np.bool_, np.timedelta64)) or not isinstance(value, (int, np.integer))
            or not (low <= value and (high is None or value <= high))):
        raise ValueError(f"{name} must be {kind}, got {_describe(value)}")
    return int(value)  # a Python int: NumPy scalars would wrap around in later arithmetic


def _check_number(name, value, low=0, high=math.inf, low_open=True) -> float:
    """``value`` (a Python or NumPy int or float, not a bool) as a finite float in the range."""
    kind = (f"a finite number in {'(' if low_open else '['}{low}, {high}]" if high != math.inf else
            f"a finite number {'>' if low_open else '>='} {low}" if low != -math.inf else "a finite number")
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_, np.timedelta64))
    try:
        v = float(value) if real else math.nan
    except OverflowError:  # an int beyond float's range
        v = math.inf
    if not (math.isfinite(v) and (v > low if low_open else v >= low) and v <= high):
        raise ValueError(f"{name} must be {kind}, got {_describe(value)}")
    return v


def _check_choice(name, value, choices) -> None:
    if not (isinstance(value, str) and value in choices):
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _check_text(name, text) -> str:
    """``text`` if it is a str that UTF-8 can hold (no lone surrogates)."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{name} holds a lone surrogate {text[e.start]!r} at position {e.start}, "
                         "which is not a character") from None
    return text


def _check_init(vocab_size, hidden_size, rng, scale, dtype) -> tuple:
    """The checked arguments of init_params and lstm_init_params: (V, H, scale, dtype)."""
    _check_rng(rng)
    if dtype not in (np.float32, np.float64, "float32", "float64"):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return (_check_int("vocab_size", vocab_size), _check_int("hidden_size", hidden_size),
            _check_number("scale", scale, 0, math.inf, low_open=False), dtype)


def _check_vocab(vocab, V=None) -> Vocab:
    """vocab if it is a Vocab (of V characters, if V is given)."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab, got {type(vocab).__name__}")
    if V is not None and vocab.size != V:
        raise ValueError(f"the vocabulary has {vocab.size} characters but the params are for V={V}")
    return vocab


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a np.random.Generator, e.g. np.random.default_rng(0)")


def _check_ids(name, ids, vocab_size, min_len=1) -> np.ndarray:
    """ids as a 1-d int64 array in [0, vocab_size) of length >= min_len, or ValueError naming it."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be ids (ints), got a {type(ids).__name__}; encode text "
                        "with Vocab.encode first")
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < min_len or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-d array of at least {min_len} ints, "
                         f"got {ids.dtype} {ids.shape}")
    bad = np.flatnonzero((ids < 0) | (ids >= vocab_size))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] is {ids[bad[0]]}, outside the ids [0, {vocab_size})")
    return ids.astype(np.int64)


def _check_model(params) -> tuple[Cell, int, int]:
    """Check that params of either cell are float arrays of shapes that fit; return (cell, V, H)."""
    cell = CELLS[cell_of(params)]
    for name in cell.param_names:
        a = params[name]
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            raise TypeError(f"params[{name!r}] must be a NumPy array of floats, "
                            f"got {getattr(a, 'dtype', type(a).__name__)}")
    V, H = params["Why"].shape if params["Why"].ndim == 2 else (0, 0)
    for name, shape in cell.param_shapes(V, H).items():
        if params[name].shape != shape or min(shape) < 1:
            raise ValueError(f"params[{name!r}] has shape {params[name].shape}, expected {shape} "
                             f"(V={V}, H={H} from Why)")
    return cell, V, H


def _check_state(name, state, cell, H, B=1) -> tuple:
    """A state given as h (RNN) or the pair (h, c) (LSTM), as the cell's tuple of (H, B) arrays."""
    arrays = tuple(state) if cell.state_size > 1 and isinstance(state, (tuple, list)) else (state,)
    if len(arrays) != cell.state_size:
        raise ValueError(f"{name} must be the LSTM state, a pair (h, c), got {_describe(state)}")
    _check_arrays((name,) if cell.state_size == 1 else (f"{name}[0] (h)", f"{name}[1] (c)"), arrays, (H, B))
    return arrays


def _check_arrays(names, arrays, shape) -> None:
    """Raise naming the first of ``arrays`` that is not a NumPy float array of ``shape``."""
    for name, a in zip(names, arrays):
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            raise TypeError(f"{name} must be a NumPy array of floats of shape {shape}, got {_describe(a)}")
        if a.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {a.shape}")


def _check_sequences(params, inputs, targets, state, batched=False):
    """Validate one training example (T ints, or (T, B) when batched); return (inputs, targets)."""
    cell, V, H = _check_model(params)
    if cell.state_size != len(state):
        raise ValueError(f"params are {cell.name.upper()} parameters; this function is the "
                         f"{'LSTM' if len(state) > 1 else 'RNN'}'s")
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    want = 2 if batched else 1
    for name, a in (("inputs", inputs), ("targets", targets)):
        if a.ndim != want or a.size == 0 or a.dtype.kind not in "iu":
            raise ValueError(f"{name} must be a non-empty {want}-d array of ints, got {a.dtype} {a.shape}")
        if a.min() < 0 or a.max() >= V:
            raise ValueError(f"{name} holds ids outside [0, {V})")
    if inputs.shape != targets.shape:
        raise ValueError(f"inputs and targets differ in shape: {inputs.shape} vs {targets.shape}")
    _check_arrays(("hprev", "cprev"), state, (H, inputs.shape[1] if batched else 1))
    return inputs, targets


def _check_grads(grads, params=None) -> dict:
    """grads as a dict of arrays (with the keys and shapes of ``params``, if given)."""
    if not isinstance(grads, dict) or (params is not None and set(grads) != set(params)):
        keys = f" with the keys of params {sorted(params)}" if params is not None else ""
        got = sorted(map(str, grads)) if isinstance(grads, dict) else _describe(grads)
        raise ValueError(f"grads must be a dict of NumPy arrays{keys}, got {got}")
    for k, g in grads.items():
        if not isinstance(g, np.ndarray) or (params is not None and g.shape != params[k].shape):
            want = f" of shape {params[k].shape}" if params is not None else ""
            raise ValueError(f"grads[{k!r}] must be a NumPy array{want}, got {_describe(g)}")
    return grads


def _check_ngram_options(counts, n, smoothing, k, discount) -> tuple[int, float, float]:
    """Validate the options of ngram_probs / ngram_loss; return (n, k, discount)."""
    if not isinstance(counts, NGramCounts):
        raise TypeError(f"counts must be an NGramCounts (from ngram_counts), got {type(counts).__name__}")
    n = _check_int("n", counts.n if n is None else n, 1, counts.n)
    _check_choice("smoothing", smoothing, ("interpolated", "kneser-ney", "add-k"))
    return n, _check_number("k", k), \
        _check_number("discount", discount, 0, 1, low_open=True)


def _describe(value) -> str:
    """A value for an error message: itself if it is a number or a string, else its type (and shape)."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return repr(value) if isinstance(value, (int, float, np.number, str, np.bool_)) else type(value).__name__

