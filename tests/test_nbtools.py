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


def test_data_is_found_beside_the_core_when_nbtools_is_copied_elsewhere(tmp_path):
    # The student edition handed out on its own: nbtools.py in a folder with no data/ above it.
    # It then falls back to the folder holding charrnn_core (here: this repository).
    import importlib.util
    from pathlib import Path

    import charrnn_core

    copy = tmp_path / "handout" / "nbtools.py"
    copy.parent.mkdir()
    copy.write_text((REPO / "notebooks" / "nbtools.py").read_text(encoding="utf-8"),
                    encoding="utf-8")
    spec = importlib.util.spec_from_file_location("nbtools_handout", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert nbtools.ROOT == REPO
    assert module.ROOT == Path(charrnn_core.__file__).resolve().parent
    assert module.CORPUS.is_file() and module.CHECKPOINT.is_file()


def test_held_out_text_is_the_tail_the_checkpoint_did_not_train_on():
    text, vocab = nbtools.load_corpus()
    params, ck_vocab, meta = nbtools.load_pretrained()
    held = nbtools.held_out_text(text)
    assert ck_vocab == vocab
    assert meta["train_chars"] + len(held) == len(text)
    assert text.endswith(held) and 0.09 < len(held) / len(text) < 0.11
