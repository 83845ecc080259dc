"""The notebooks' shared helper module (notebooks/nbtools.py)."""

import sys

import numpy as np
import pytest

import charrnn_core as core
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


# --- notebooks 00-04


def test_compare_normwise_uses_the_cores_norm_wise_error_and_pass_rule():
    exact = np.array([1.0, 1e-9])
    noisy = np.array([1.0, 1e-9 + 1e-10])          # rounding-level noise on the tiny entry
    assert core.rel_error(exact, noisy) > 1e-2      # the worst entry would fail it ...
    nbtools.compare_normwise("dW", noisy, exact)    # ... the norm-wise error passes it
    with pytest.raises(WrongAnswer, match=r"dW: relative error 2\.2e-02 .* finite differences \(needs < 1e-07\)"):
        nbtools.compare_normwise("dW", [1.0, 2.0], [1.0, 2.1])
    with pytest.raises(WrongAnswer, match=r"dW: shape \(2,\), expected \(3,\)"):
        nbtools.compare_normwise("dW", [1.0, 2.0], [1.0, 2.0, 3.0])
    # one measure and one threshold for the series: the core's, not a copy in nbtools
    assert not hasattr(nbtools, "norm_rel_error") and not hasattr(nbtools, "GRAD_CHECK_TOL")
    nbtools.compare_normwise("dW", [1.0, 1.0 + 2.5e-7], [1.0, 1.0])          # 8.8e-8 < 1e-7
    with pytest.raises(WrongAnswer):
        nbtools.compare_normwise("dW", [1.0, 1.0 + 3e-7], [1.0, 1.0])        # 1.06e-7 > 1e-7


def _rnn_step(params, ix, h_prev, target, squash=np.tanh):
    h = squash(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    y = params["Why"] @ h + params["by"]
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    return h, p, -np.log(p[target, 0])


def test_grade_rnn_step_passes_the_right_step_and_names_what_is_wrong():
    nbtools.grade_rnn_step(_rnn_step, np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match=r"^h: relative error.*p: relative error.*loss: relative error"):
        nbtools.grade_rnn_step(lambda *a: _rnn_step(*a, squash=lambda z: z), np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match="tuple"):
        nbtools.grade_rnn_step(lambda *a: _rnn_step(*a)[:2], np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match="rnn_step raised KeyError"):
        nbtools.grade_rnn_step(lambda params, *a: params["W"], np.random.default_rng(0))


def _softmax_loss_grad(ys, targets, stable=True, minus_one=True):
    z = ys - ys.max(axis=0) if stable else ys
    p = np.exp(z) / np.exp(z).sum(axis=0)
    cols = np.arange(ys.shape[1])
    loss = float(-np.log(p[targets, cols]).sum())
    dys = p.copy()
    if minus_one:
        dys[targets, cols] -= 1
    return loss, dys


def test_grade_softmax_loss_grad_catches_the_missing_minus_one_and_overflow():
    nbtools.grade_softmax_loss_grad(_softmax_loss_grad, np.random.default_rng(1))
    with pytest.raises(WrongAnswer) as e:
        nbtools.grade_softmax_loss_grad(lambda y, t: _softmax_loss_grad(y, t, minus_one=False),
                                        np.random.default_rng(1))
    assert "dys: relative error" in str(e.value) and "loss:" not in str(e.value)
    with pytest.raises(WrongAnswer, match="NaN or infinity.*1000"):
        nbtools.grade_softmax_loss_grad(lambda y, t: _softmax_loss_grad(y, t, stable=False),
                                        np.random.default_rng(1))


def _bptt_step(params, grads, dhnext, x, target, h, h_prev, p, use_dhnext=True, transpose=True):
    dy = p.copy()
    dy[target] -= 1
    grads["Why"] += dy @ h.T
    grads["by"] += dy
    dh = params["Why"].T @ dy + (dhnext if use_dhnext else 0)
    dhraw = (1 - h * h) * dh
    grads["bh"] += dhraw
    grads["Wxh"] += dhraw @ x.T
    grads["Whh"] += dhraw @ h_prev.T
    return (params["Whh"].T if transpose else params["Whh"]) @ dhraw


def test_grade_bptt_step_names_the_gradients_a_mistake_breaks():
    nbtools.grade_bptt_step(_bptt_step, np.random.default_rng(2))
    with pytest.raises(WrongAnswer) as e:
        nbtools.grade_bptt_step(lambda *a: _bptt_step(*a, use_dhnext=False), np.random.default_rng(2))
    msg = str(e.value)
    assert all(f"{n}: relative error" in msg for n in ("Wxh", "Whh", "bh"))
    assert "Why:" not in msg and "by:" not in msg and "one step" in msg
    with pytest.raises(WrongAnswer, match=r"dhnext \(returned\): relative error"):
        nbtools.grade_bptt_step(lambda *a: _bptt_step(*a, transpose=False), np.random.default_rng(2))


def test_name_bptt_mistake_recognises_each_planted_mistake_and_not_the_right_step():
    assert nbtools.name_bptt_mistake(_bptt_step, np.random.default_rng(0)) is None
    for mistake, description in nbtools.BPTT_MISTAKES.items():
        planted = lambda *a, m=mistake: nbtools.gist_bptt_step(*a, mistake=m)  # noqa: E731
        assert nbtools.name_bptt_mistake(planted, np.random.default_rng(1)) == description
    with pytest.raises(WrongAnswer, match="likely mistake: the -1 in dy is missing"):
        nbtools.grade_bptt_step_named(lambda *a: nbtools.gist_bptt_step(*a, mistake="minus_one"),
                                      np.random.default_rng(3))
    nbtools.grade_bptt_step_named(_bptt_step, np.random.default_rng(3))


def test_draw_backward_step_shows_the_two_norms_of_step_t():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = nbtools.draw_backward_step([0.25, 0.2, 0.3], [0.05, 0.04, 0.0], t=1, chars="abc")
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert "① 0.200" in texts and "② 0.040" in texts
    assert sum(len(bars) for bars in fig.axes[1].containers) == 4   # bars of the steps done: t = 1, 2
    plt.close(fig)


def test_show_matrix_and_draw_unrolled_rnn_draw_without_error():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    nbtools.show_matrix(ax, np.array([[1.0, -2.0], [0.5, 0.0]]), "M", highlight_col=1)
    assert len(ax.texts) == 4 and len(ax.patches) == 1
    plt.close(fig)
    fig = nbtools.draw_unrolled_rnn(T_show=3, focus=1)
    assert fig.axes[0].get_title().startswith("The RNN unrolled over 3 steps")
    plt.close(fig)


@pytest.mark.parametrize("seed", range(25))
def test_graders_pass_right_answers_and_fail_planted_mistakes_for_any_seed(seed):
    rng = lambda: np.random.default_rng(seed)  # noqa: E731
    nbtools.grade_rnn_step(_rnn_step, rng())
    nbtools.grade_softmax_loss_grad(_softmax_loss_grad, rng())
    nbtools.grade_bptt_step(_bptt_step, rng())
    with pytest.raises(WrongAnswer, match="^h: relative error"):
        nbtools.grade_rnn_step(lambda *a: _rnn_step(*a, squash=lambda z: z), rng())
    with pytest.raises(WrongAnswer, match="^dys: relative error"):
        nbtools.grade_softmax_loss_grad(lambda y, t: _softmax_loss_grad(y, t, minus_one=False), rng())
    with pytest.raises(WrongAnswer, match="^Wxh: relative error.*Whh.*bh.*dhnext"):
        nbtools.grade_bptt_step(lambda *a: _bptt_step(*a, use_dhnext=False), rng())


def test_grade_step_named_passes_the_step_and_names_each_planted_mistake():
    nbtools.grade_step_named(_rnn_step, np.random.default_rng(0))
    for mistake, description in nbtools.STEP_MISTAKES.items():
        planted = lambda *a, m=mistake: nbtools._planted_step(*a, mistake=m)  # noqa: E731
        with pytest.raises(WrongAnswer) as e:
            nbtools.grade_step_named(planted, np.random.default_rng(1))
        assert f"likely mistake: {description}" in str(e.value)
    assert nbtools.name_step_mistake(_rnn_step, np.random.default_rng(2)) is None


def _textbook_softmax_step(params, ix, h_prev, target):
    h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    y = params["Why"] @ h + params["by"]
    p = np.exp(y) / np.sum(np.exp(y))
    return h, p, float(-np.log(p[target, 0]))


def test_grade_step_named_fails_a_softmax_that_overflows_only_at_large_logits():
    with pytest.raises(WrongAnswer, match=r"(?s)logits near 1000.*likely mistake: the textbook softmax"):
        nbtools.grade_step_named(_textbook_softmax_step, np.random.default_rng(0))


def test_grade_logit_grad_checks_against_finite_differences_and_names_the_mistake():
    y = np.array([2.0, 1.0, 0.1, -1.0])
    p = core.softmax(y.reshape(-1, 1)).ravel()
    nbtools.grade_logit_grad(p - np.eye(4)[1], y, 1)
    nbtools.grade_logit_grad([1.0, 0.0, -1.0, 0.0], [50.0, 0.0, 0.0, 0.0], 2)   # sure and wrong
    for answer, signature in ((p, "-1 at the target .* is missing"), (np.eye(4)[1] - p, "sign is flipped"),
                              (p - 1, "every entry"), (np.zeros(4), "all zeros")):
        with pytest.raises(WrongAnswer, match=f"(?s)relative error.*likely mistake: .*{signature}"):
            nbtools.grade_logit_grad(answer, y, 1)
    with pytest.raises(WrongAnswer, match="give 4 numbers"):
        nbtools.grade_logit_grad([1.0, 2.0], y, 1)


def test_grade_window_loss_grad_names_mean_missing_minus_one_rows_and_overflow():
    nbtools.grade_window_loss_grad(_softmax_loss_grad, np.random.default_rng(5))

    def mean_loss(ys, t):
        loss, dys = _softmax_loss_grad(ys, t)
        return loss / len(t), dys

    def whole_rows(ys, t):
        loss, _ = _softmax_loss_grad(ys, t)
        dys = core.softmax(ys)
        dys[t] -= 1
        return loss, dys

    cases = {"off by exactly T": mean_loss, "whole rows": whole_rows,
             "p itself": lambda y, t: _softmax_loss_grad(y, t, minus_one=False),
             "overflows at logits near 1000": lambda y, t: _softmax_loss_grad(y, t, stable=False)}
    for signature, fn in cases.items():
        with pytest.raises(WrongAnswer, match=f"(?s)likely mistake: .*{signature}"):
            nbtools.grade_window_loss_grad(fn, np.random.default_rng(5))


def test_grade_slope_needs_a_measurement_with_the_eps_given():
    centred = lambda f, y, d, eps: (f(y + eps * d) - f(y - eps * d)) / (2 * eps)  # noqa: E731
    nbtools.grade_slope(centred, np.random.default_rng(4))
    cases = {"one-sided": lambda f, y, d, eps: (f(y + eps * d) - f(y)) / eps,
             "the 2 is missing": lambda f, y, d, eps: 2 * centred(f, y, d, eps),
             "not the eps given": lambda f, y, d, eps: centred(f, y, d, 1e-5)}
    for signature, fn in cases.items():
        with pytest.raises(WrongAnswer, match=f"(?s)likely mistake: .*{signature}"):
            nbtools.grade_slope(fn, np.random.default_rng(4))
    with pytest.raises(WrongAnswer, match="function you have not seen"):
        nbtools.grade_slope(lambda f, y, d, eps: 0.0, np.random.default_rng(4))   # a typed number


# --- notebooks 05-06


def test_counted_counts_every_call_and_passes_results_through():
    g = nbtools.counted(lambda x, y=1: x + y)
    assert g.calls == 0
    assert g(1) == 2 and g(1, y=5) == 6
    assert g.calls == 2


def test_error_table_has_a_row_per_label_and_the_max():
    errs = {"Wxh": 1e-9, "Whh": 2e-9, "Why": 3e-5, "bh": 1e-10, "by": 4e-9}
    table = nbtools.error_table({"float64": errs, "bug": {k: 0.5 for k in errs}})
    lines = table.splitlines()
    assert len(lines) == 3 and lines[0].split() == ["Wxh", "Whh", "Why", "bh", "by", "max"]
    assert lines[1].split()[-1] == "3e-05" and lines[2].split()[-1] == "5e-01"


def test_error_heatmap_colours_pass_look_closer_and_fail():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    nbtools.error_heatmap(ax, ["a"], ["x", "y", "z"], [[1e-9, 1e-5, 0.5]], "t")
    img = ax.images[0]
    colours = [tuple(img.cmap(img.norm(v))) for v in img.get_array().ravel()]
    assert len(set(colours)) == 3
    plt.close(fig)


def test_flat_and_cosine_against_hand_values():
    g = {"Wxh": np.array([[3.0]]), "Whh": np.array([[4.0, 0.0]]), "Why": np.zeros((1, 1)),
         "bh": np.zeros((1, 1)), "by": np.zeros((1, 1))}
    v = nbtools.flat(g)
    assert v.tolist() == [3.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    assert abs(nbtools.cosine(v, 2 * v) - 1) < 1e-15
    assert abs(nbtools.cosine([1.0, 0.0], [1.0, 1.0]) - 2 ** -0.5) < 1e-15
    assert abs(nbtools.cosine([1.0, 0.0], [-3.0, 0.0]) + 1) < 1e-15


def test_clipping_curves_global_keeps_direction_elementwise_turns_it():
    G = np.array([12.0, 2.0])
    c = nbtools.clipping_curves(G, [1.0, 3.0, 100.0])
    assert np.allclose(c["global"], 1.0, atol=1e-12)
    assert c["elementwise"][1] == nbtools.cosine(G, [3.0, 2.0]) < 0.95   # (3, 2)
    assert c["elementwise"][2] == 1.0 and c["cut"].tolist() == [1.0, 0.5, 0.0]


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


def test_last_logits_match_the_core_forward_pass():
    rng = np.random.default_rng(1)
    params = core_init(rng)
    x, y = nbtools.recall_batch(4, 3, rng)
    for b in range(3):
        _, (_, _, _, ps) = nbtools.core.forward(params, x[:, b], y[:, b], np.zeros((8, 1)))
        p = nbtools.core.softmax(nbtools.last_logits(params, x)[:, [b]])
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
