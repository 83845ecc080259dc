"""The recall task of notebooks 07 and 10 as nbtools provides it (notebook 10's section)."""

import sys

import numpy as np
import pytest

import charrnn_core as core
from conftest import REPO

sys.path.insert(0, str(REPO / "notebooks"))
import nbtools  # noqa: E402


def test_recall_batch_is_symbol_fillers_question_mark_with_the_symbol_as_last_target():
    x, y = nbtools.recall_batch(4, 50, np.random.default_rng(0))
    assert x.shape == y.shape == (6, 50)
    v = nbtools.RECALL_VOCAB
    for b in range(50):
        inputs, targets = v.decode(x[:, b]), v.decode(y[:, b])
        assert inputs[0] in "abc" and inputs[1:] == "....?"
        assert targets == "....." + inputs[0]
    assert set(v.decode(x[0])) == set("abc")      # all three symbols occur


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_train_recall_is_deterministic_and_uses_the_cell(cell):
    a = nbtools.train_recall(3, cell, seed=5, iters=5)
    b = nbtools.train_recall(3, cell, seed=5, iters=5)
    assert core.cell_of(a) == cell
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_recall_accuracy_of_a_model_that_always_says_b_is_one_third_or_so():
    params = core.init_params(nbtools.RECALL_VOCAB.size, 4, np.random.default_rng(0), scale=0.0)
    params["by"][nbtools.RECALL_VOCAB.index["b"]] = 5.0
    acc = nbtools.recall_accuracy(params, 3, np.random.default_rng([1, 3]), n=600)
    assert abs(acc - nbtools.RECALL_CHANCE) < 0.07


def test_recall_answers_rows_are_the_symbols_and_its_diagonal_is_the_accuracy():
    params = nbtools.train_recall(3, "lstm", seed=1, iters=60, learning_rate=0.1)
    counts = nbtools.recall_answers(params, 3, np.random.default_rng([2, 3]), n=300)
    assert counts.shape == (3, nbtools.RECALL_VOCAB.size) and counts.sum() == 300
    x, _ = nbtools.recall_batch(3, 300, np.random.default_rng([2, 3]))
    assert list(counts.sum(axis=1)) == [int(np.sum(x[0] == s)) for s in nbtools.RECALL_SYMBOLS]
    diagonal = counts[np.arange(3), nbtools.RECALL_SYMBOLS].sum()
    assert diagonal / 300 == nbtools.recall_accuracy(params, 3, np.random.default_rng([2, 3]), n=300)


def test_recall_answers_of_a_model_that_always_says_b_put_everything_in_column_b():
    params = core.init_params(nbtools.RECALL_VOCAB.size, 4, np.random.default_rng(0), scale=0.0)
    params["by"][nbtools.RECALL_VOCAB.index["b"]] = 5.0
    counts = nbtools.recall_answers(params, 3, np.random.default_rng([1, 3]), n=90)
    assert counts[:, nbtools.RECALL_VOCAB.index["b"]].sum() == 90
