"""Shared helpers for the unit tests of charrnn_core.

The tests import ``charrnn_core`` from wherever Python finds it first (so a
mutation run can point PYTHONPATH at a copy with a planted bug), but read data
and packaging files from this repository (the folder above ``tests/``).
"""

import os
from pathlib import Path

import numpy as np
import pytest

import charrnn_core

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "data" / "tiny.txt"


def random_case(V, H, T, seed, B=None, scale=0.1):
    """Random params (weights AND biases ~ scale * N(0, 1)), a sequence and a nonzero hprev.

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


def centered_differences(f, x, h=1e-5):
    """dF/dx by centered differences, written here (not the core's numerical_gradient)."""
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
    """||a - b|| / (||a|| + ||b||): immune to the rounding noise of tiny single entries."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def subprocess_env():
    """Environment for a child Python that imports the SAME charrnn_core as these tests."""
    env = os.environ.copy()
    core_dir = str(Path(charrnn_core.__file__).resolve().parent)
    env["PYTHONPATH"] = core_dir + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.fixture(scope="session")
def tiny_text():
    return TINY.read_text(encoding="utf-8")
