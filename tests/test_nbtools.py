"""The notebooks' shared helper module (notebooks/nbtools.py)."""

import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "notebooks"))
import nbtools  # noqa: E402
from nbtools import WrongAnswer, call, compare, compare_all, exercise  # noqa: E402


@exercise("Exercise 9")
def check_square(fn):
    got = call(fn, 3.0, what="square")
    compare("square(3)", got, 9.0)
    return "nine"


def test_exercise_reports_unanswered_without_failing(capsys):
    assert check_square(None) is False
    assert check_square(...) is False

    def skeleton(x):
        raise NotImplementedError

    assert check_square(skeleton) is False
    assert capsys.readouterr().out.count("Exercise 9: not answered yet") == 3


def test_exercise_prints_correct_with_the_remark(capsys):
    assert check_square(lambda x: x * x) is True
    assert capsys.readouterr().out == "Exercise 9: correct ✓  (nine)\n"


def test_wrong_answer_names_the_quantity_not_a_numpy_traceback():
    with pytest.raises(WrongAnswer, match=r"square\(3\): relative error"):
        check_square(lambda x: x * x + 1e-3)
    with pytest.raises(WrongAnswer, match=r"square raised ZeroDivisionError"):
        check_square(lambda x: x / 0 if isinstance(x, int) else 1 // 0)


def test_plain_assert_in_a_checker_becomes_a_wrong_answer():
    @exercise("Exercise 2")
    def check(answer):
        assert answer == 1, f"{answer} is not 1"

    with pytest.raises(WrongAnswer, match="Exercise 2: 5 is not 1"):
        check(5)


def test_compare_checks_shape_then_error():
    compare("x", np.ones((2, 1)), np.ones((2, 1)))
    with pytest.raises(WrongAnswer, match=r"x: shape \(2,\), expected \(2, 1\)"):
        compare("x", np.ones(2), np.ones((2, 1)))
    with pytest.raises(WrongAnswer, match="NaN"):
        compare("x", [np.nan], [1.0])
    with pytest.raises(WrongAnswer, match="array of numbers"):
        compare("x", {"a": 1}, [1.0])


def test_compare_all_lists_every_wrong_entry():
    want = {"a": np.ones(2), "b": np.ones(2), "c": np.ones(2)}
    with pytest.raises(WrongAnswer) as e:
        compare_all({"a": np.ones(2), "b": 2 * np.ones(2), "c": np.ones(3)}, want)
    assert "b: relative error" in str(e.value) and "c: shape (3,)" in str(e.value)
    assert "a:" not in str(e.value)
    with pytest.raises(WrongAnswer, match="keys"):
        compare_all({"a": 1}, want)


def test_moving_average_and_spectral_radius_against_hand_values():
    assert np.allclose(nbtools.moving_average([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
    W = np.array([[0.0, 2.0], [-2.0, 0.0]])          # eigenvalues +-2i
    assert abs(nbtools.spectral_radius(W) - 2.0) < 1e-12


def test_held_out_text_is_the_tail_the_checkpoint_did_not_train_on():
    text, vocab = nbtools.load_corpus()
    params, ck_vocab, meta = nbtools.load_pretrained()
    held = nbtools.held_out_text(text)
    assert ck_vocab == vocab
    assert meta["train_chars"] + len(held) == len(text)
    assert text.endswith(held) and 0.09 < len(held) / len(text) < 0.11


def test_recall_batch_holds_the_symbol_first_and_asks_for_it_last():
    x, y = nbtools.recall_batch(3, 50, np.random.default_rng(0))
    v = nbtools.RECALL_VOCAB
    assert x.shape == y.shape == (5, 50)
    assert set(v.decode(x[0])) == set("abc")                       # all three symbols drawn
    assert v.decode(x[1:-1].ravel()) == "." * 150 and v.decode(x[-1]) == "?" * 50
    assert v.decode(y[:-1].ravel()) == "." * 200 and np.array_equal(y[-1], x[0])
    again, _ = nbtools.recall_batch(3, 50, np.random.default_rng(0))
    assert np.array_equal(x, again)
    with pytest.raises(ValueError, match="k"):
        nbtools.recall_batch(-1, 5, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        nbtools.recall_batch(2, 5, 0)


def test_rnn_last_logits_match_the_core_forward_pass():
    rng = np.random.default_rng(1)
    params = core_init(rng)
    x, y = nbtools.recall_batch(4, 3, rng)
    for b in range(3):
        _, (_, _, _, ps) = nbtools.core.forward(params, x[:, b], y[:, b], np.zeros((8, 1)))
        p = nbtools.core.softmax(nbtools.rnn_last_logits(params, x)[:, [b]])
        assert np.allclose(p, ps[len(x) - 1], rtol=1e-12, atol=0)


def core_init(rng):
    return nbtools.core.init_params(nbtools.RECALL_VOCAB.size, 8, rng, scale=0.5)


def test_recall_accuracy_of_a_perfect_a_guessing_and_a_broken_model():
    V = nbtools.RECALL_VOCAB.size
    rng = np.random.default_rng(2)
    perfect = lambda x: np.eye(V)[:, x[0]]                          # noqa: E731 - reads the first input
    always_a = lambda x: np.eye(V)[:, np.full(x.shape[1], nbtools.RECALL_SYMBOLS[0])]  # noqa: E731
    assert nbtools.recall_accuracy(perfect, 10, rng) == 1.0
    assert abs(nbtools.recall_accuracy(always_a, 10, rng, n=3000) - nbtools.RECALL_CHANCE) < 0.03
    with pytest.raises(ValueError, match="logits of shape"):
        nbtools.recall_accuracy(lambda x: np.zeros((V, 1)), 2, rng)
    params = core_init(rng)                                            # a params dict works too
    assert 0.0 <= nbtools.recall_accuracy(params, 2, rng, n=50) <= 1.0


def test_sigma_max_bounds_the_stretch_and_is_attained():
    W = np.random.default_rng(3).standard_normal((6, 6))
    s = nbtools.sigma_max(W)
    vs = np.random.default_rng(4).standard_normal((6, 1000))
    assert np.all(np.linalg.norm(W @ vs, axis=0) <= s * np.linalg.norm(vs, axis=0) * (1 + 1e-12))
    assert abs(s - np.sqrt(np.max(np.linalg.eigvalsh(W.T @ W)))) < 1e-10
