"""Shared helpers for the unit tests of charrnn_core and charrnn_io.

The tests import ``charrnn_core`` from wherever Python finds it first (so a
mutation run can point PYTHONPATH at a copy with a planted bug), but read data
and packaging files from this repository (the folder above ``tests/``).

The reference computations here (``centered_differences``, ``normwise_error``) are
the tests' own copies, written without the core, so a bug in the core's
``numerical_gradient`` or ``norm_rel_error`` cannot hide a bug in a gradient.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import charrnn_core
import charrnn_io

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "data" / "tiny.txt"


def random_case(V, H, T, seed, B=None, scale=0.1):
    """Random RNN params (weights AND biases ~ scale * N(0, 1)), a sequence and a nonzero hprev.

    B=None: inputs/targets (T,), hprev (H, 1); otherwise (T, B) and (H, B).
    """
    rng = np.random.default_rng(seed)
    params = {name: scale * rng.standard_normal(shape)
              for name, shape in charrnn_core.param_shapes(V, H).items()}
    shape = (T,) if B is None else (T, B)
    inputs = rng.integers(0, V, size=shape)
    targets = rng.integers(0, V, size=shape)
    hprev = 0.5 * rng.standard_normal((H, 1 if B is None else B))
    return params, inputs, targets, hprev


def lstm_case(V, H, T, seed, B=None, scale=0.5):
    """Random LSTM params (weights and biases ~ scale * N(0, 1), so every gate is in its
    curved range), a sequence and nonzero starting states h, c."""
    rng = np.random.default_rng(seed)
    params = {k: scale * rng.standard_normal(s)
              for k, s in charrnn_core.lstm_param_shapes(V, H).items()}
    shape = (T,) if B is None else (T, B)
    inputs, targets = rng.integers(0, V, size=shape), rng.integers(0, V, size=shape)
    cols = 1 if B is None else B
    return (params, inputs, targets, 0.5 * rng.standard_normal((H, cols)),
            rng.standard_normal((H, cols)))


def batch_col(seq):
    """A (T,) sequence as a (T, 1) batch."""
    return np.asarray(seq)[:, None]


def centered_differences(f, x, h=1e-5):
    """dF/dx by centered differences: the tests' own copy, independent of
    charrnn_core.numerical_gradient on purpose (a bug there must not hide one elsewhere)."""
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f()
        x[ix] = old - h
        fm = f()
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
    return grad


def normwise_error(a, b):
    """||a - b|| / (||a|| + ||b||): the tests' own copy, independent of
    charrnn_core.norm_rel_error on purpose; immune to the rounding noise of tiny entries."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def subprocess_env():
    """Environment for a child Python that imports the SAME charrnn_core and charrnn_io as
    these tests (the core's folder first, so a mutated copy is the one the child runs)."""
    env = os.environ.copy()
    dirs = [str(Path(m.__file__).resolve().parent) for m in (charrnn_core, charrnn_io)]
    env["PYTHONPATH"] = os.pathsep.join([*dict.fromkeys(dirs), env.get("PYTHONPATH", "")])
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONWARNINGS", None)
    return env


def one_line_error(err, *words):
    """Assert that ``err`` is one line on stderr, no traceback, holding every one of ``words``."""
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


@pytest.fixture(scope="session")
def tiny_text():
    """The small training text data/tiny.txt."""
    return TINY.read_text(encoding="utf-8")
