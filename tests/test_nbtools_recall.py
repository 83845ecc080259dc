"""The recall task of notebooks 07 and 10 as nbtools provides it (its section "the recall task")."""

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


def _train_by_hand(k, seed, Whh=None, updates=40, H=16, B=32, lr=0.05):
    """Notebook 07's own loop before it moved to nbtools.train_recall (vanilla RNN), written out."""
    rng = np.random.default_rng([seed, k])
    params = core.init_params(nbtools.RECALL_VOCAB.size, H, rng)
    if Whh is not None:
        params["Whh"] = Whh.copy()
    opt = core.Adagrad(params, lr)
    for _ in range(updates):
        x, y = nbtools.recall_batch(k, B, rng)
        _, grads, _ = core.loss_and_grads_batch(params, x, y, np.zeros((H, B)))
        grads, _ = core.clip_global_norm({n: g / B for n, g in grads.items()}, 5.0)
        opt.step(grads)
    return opt


@pytest.mark.parametrize("identity", [False, True])
def test_train_recall_is_notebook_07s_loop_bit_for_bit_with_and_without_an_init(identity):
    init = {"Whh": np.eye(16)} if identity else None
    want = _train_by_hand(4, 7, Whh=np.eye(16) if identity else None)
    got = nbtools.train_recall(4, seed=7, iters=40, init=init, return_optimizer=True)
    assert isinstance(got, core.Adagrad)
    for name in core.PARAM_NAMES:
        assert np.array_equal(got.params[name], want.params[name]), name
        assert np.array_equal(got.mem[name], want.mem[name]), name
    assert got.mem["Whh"].max() > 0                               # it did train


def test_train_recall_init_replaces_only_the_named_start_and_copies_it():
    eye = np.eye(8)
    start = nbtools.train_recall(3, seed=2, hidden_size=8, iters=0, init={"Whh": eye})
    drawn = nbtools.train_recall(3, seed=2, hidden_size=8, iters=0)
    assert np.array_equal(start["Whh"], eye) and not np.array_equal(drawn["Whh"], eye)
    assert all(np.array_equal(start[n], drawn[n]) for n in ("Wxh", "Why", "bh", "by"))
    nbtools.train_recall(3, seed=2, hidden_size=8, iters=5, init={"Whh": eye})
    assert np.array_equal(eye, np.eye(8))                          # the caller's array is not trained
    with pytest.raises(ValueError, match=r"init\['Wh'\]"):
        nbtools.train_recall(3, seed=2, hidden_size=8, iters=1, init={"Wh": eye})   # an LSTM name
    with pytest.raises(ValueError, match=r"init\['Whh'\].*shape \(4, 4\)"):
        nbtools.train_recall(3, seed=2, hidden_size=8, iters=1, init={"Whh": np.eye(4)})
    with pytest.raises(ValueError, match="cell must be one of"):
        nbtools.train_recall(3, "gru", iters=1)


def test_train_recall_calls_back_after_every_update_with_the_live_params():
    seen = []
    params = nbtools.train_recall(2, "lstm", seed=0, iters=4,
                                  callback=lambda it, p: seen.append((it, p["Wh"].copy(), p)))
    assert [it for it, _, _ in seen] == [0, 1, 2, 3] and all(p is params for _, _, p in seen)
    assert not np.array_equal(seen[0][1], seen[-1][1])


def test_last_logits_of_an_lstm_match_the_cores_forward_pass():
    rng = np.random.default_rng(4)
    params = core.lstm_init_params(nbtools.RECALL_VOCAB.size, 6, rng, scale=0.5)
    x, y = nbtools.recall_batch(3, 4, rng)
    logits = nbtools.last_logits(params, x)
    for b in range(4):
        _, cache = core.lstm_forward(params, x[:, b], y[:, b], np.zeros((6, 1)), np.zeros((6, 1)))
        ps = cache[-1]
        assert np.allclose(core.softmax(logits[:, [b]]), ps[len(x) - 1], rtol=1e-12, atol=0)


def _sweep():
    import importlib.util
    import json
    spec = importlib.util.spec_from_file_location("recall_sweep", REPO / "experiments" / "recall_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = json.loads((REPO / "checkpoints" / "recall-sweep.json").read_text())
    return module, committed


@pytest.mark.parametrize("model, lr, k, seed", [("rnn H=32", 0.05, 10, 0), ("lstm H=16", 0.05, 10, 0)])
def test_entries_of_the_committed_recall_sweep_come_out_again(model, lr, k, seed):
    sweep, committed = _sweep()
    run, = [r for r in committed["runs"] if (r["model"], r["learning_rate"], r["fillers"]) == (model, lr, k)]
    i = committed["seeds"].index(seed)
    accuracy, answers, _ = sweep.run_one(run["cell"], run["hidden_size"], lr, k, seed)
    assert accuracy == run["accuracy"][i] and answers == run["answers"][i]
