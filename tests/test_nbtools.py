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
    """A right answer to notebook 02's step exercise (or, with another squash, a wrong one)."""
    h = squash(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    y = params["Why"] @ h + params["by"]
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    return h, p, -np.log(p[target, 0])


def _softmax_loss_grad(ys, targets, stable=True, minus_one=True):
    """A right answer to notebook 03's window exercise, or one of two planted mistakes."""
    z = ys - ys.max(axis=0) if stable else ys
    p = np.exp(z) / np.exp(z).sum(axis=0)
    cols = np.arange(ys.shape[1])
    loss = float(-np.log(p[targets, cols]).sum())
    dys = p.copy()
    if minus_one:
        dys[targets, cols] -= 1
    return loss, dys


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
    with pytest.raises(WrongAnswer, match="likely mistake: dhnext is not added into dh") as e:
        nbtools.grade_bptt_step_named(lambda *a: nbtools.gist_bptt_step(*a, mistake="use_dhnext"),
                                      np.random.default_rng(3))
    assert "Why:" not in str(e.value)
    with pytest.raises(WrongAnswer, match="likely mistake: dhnext is Whh.T @ dh"):
        nbtools.grade_bptt_step_named(lambda *a: nbtools.gist_bptt_step(*a, mistake="dhnext_dh"),
                                      np.random.default_rng(3))


def test_notebook_04_exercise_graders_name_the_common_mistakes():
    Whh = np.array([[0.5, -1.0, 0.0], [2.0, 0.3, 0.0], [0.0, 1.0, -0.4]])
    dhraw = np.array([[1.0], [0.0], [-2.0]])
    nbtools.grade_dhnext_by_hand(Whh.T @ dhraw, Whh, dhraw)
    nbtools.grade_dhnext_by_hand(list((Whh.T @ dhraw).ravel()), Whh, dhraw)
    for wrong, match in ((Whh @ dhraw, "transpose"), (Whh.T * dhraw, "`@`"), (Whh * dhraw, "`@`"),
                         (Whh.T @ ((1 - dhraw ** 2) * dhraw), "tanh factor"),
                         ((1 - (Whh.T @ dhraw) ** 2) * (Whh.T @ dhraw), "tanh factor"),
                         (np.ones((2, 1)), r"shape \(2, 1\)"), ("Whh.T @ dhraw", "array of numbers"),
                         (2 * Whh.T @ dhraw, "not dL/dh_prev"), (-(Whh.T @ dhraw), "sign is flipped")):
        with pytest.raises(WrongAnswer, match=match):
            nbtools.grade_dhnext_by_hand(wrong, Whh, dhraw)
    expected = {"Wxh", "Whh", "bh"}
    nbtools.grade_param_names({"bh", "Whh", "Wxh"}, expected)
    for wrong, match in (("Whh", "is a string, not a set"), (3, "expected a set"), ({"W"}, "not parameter names"),
                         ({"Whh", "Wxh", "bh", "Why"}, r"\['Why'\] come from dy"), ({"Whh"}, "missing")):
        with pytest.raises(WrongAnswer, match=match):
            nbtools.grade_param_names(wrong, expected)
    rng = np.random.default_rng(0)
    Why, h = rng.standard_normal((4, 3)), np.tanh(rng.standard_normal((3, 1)))
    p, target = core.softmax(rng.standard_normal((4, 1))), 2
    dy = p - core.one_hot(target, 4)
    nbtools.grade_last_dh(Why.T @ dy, Why, h, p, target, Why.T @ dy)
    for wrong, match in ((Why.T @ p, "the -1"), ((1 - h * h) * (Why.T @ dy), "that is dhraw"),
                         (dy, r"shape \(4, 1\)"), (Why.T @ dy * 1.01, "relative error")):
        with pytest.raises(WrongAnswer, match=match):
            nbtools.grade_last_dh(wrong, Why, h, p, target, Why.T @ dy)


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
    nbtools.grade_bptt_step(_bptt_step, rng())
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


def test_grade_step_named_names_the_loss_taken_at_the_input_instead_of_the_target():
    def loss_at_ix(params, ix, h_prev, target):
        h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
        p = core.softmax(params["Why"] @ h + params["by"])
        return h, p, float(-np.log(p[ix, 0]))

    with pytest.raises(WrongAnswer, match=r"(?s)^loss: relative error.*likely mistake: the loss is taken at ix"):
        nbtools.grade_step_named(loss_at_ix, np.random.default_rng(0))


def _textbook_softmax_step(params, ix, h_prev, target):
    h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    y = params["Why"] @ h + params["by"]
    p = np.exp(y) / np.sum(np.exp(y))
    return h, p, float(-np.log(p[target, 0]))


def test_grade_step_named_fails_a_softmax_that_overflows_only_at_large_logits():
    with pytest.raises(WrongAnswer, match=r"(?s)logits near 1000.*likely mistake: the textbook softmax"):
        nbtools.grade_step_named(_textbook_softmax_step, np.random.default_rng(0))


def test_grade_step_named_names_input_and_target_swapped_or_the_target_read_as_input():
    import re
    def reads(params, ix, h_prev, target, swap):
        h = np.tanh(params["Wxh"][:, [target]] + params["Whh"] @ h_prev + params["bh"])
        p = core.softmax(params["Why"] @ h + params["by"])
        return h, p, float(-np.log(p[ix if swap else target, 0]))

    for swap, description in ((True, "input and target are swapped"), (False, "h reads Wxh[:, [target]]")):
        with pytest.raises(WrongAnswer, match=r"(?s)likely mistake: " + re.escape(description)):
            nbtools.grade_step_named(lambda *a, s=swap: reads(*a, swap=s), np.random.default_rng(0))


def test_grade_loss_of_p_passes_ln_and_names_one_minus_p_and_a_rounded_value():
    assert nbtools.grade_loss_of_p(-np.log(0.3)).startswith("1.2040")
    with pytest.raises(WrongAnswer, match="that is 1 - p"):
        nbtools.grade_loss_of_p(0.7)
    with pytest.raises(WrongAnswer, match="the right value, rounded"):
        nbtools.grade_loss_of_p(1.204)
    with pytest.raises(WrongAnswer, match="is text"):
        nbtools.grade_loss_of_p("1.204")


def test_grade_perfect_loss_turns_a_string_into_a_wrong_answer_not_a_type_error():
    assert nbtools.grade_perfect_loss(0.0).startswith("0.0")
    with pytest.raises(WrongAnswer, match="is text"):
        nbtools.grade_perfect_loss("0")
    with pytest.raises(WrongAnswer, match="not a number"):
        nbtools.grade_perfect_loss([None, "x"])
    with pytest.raises(WrongAnswer, match="1 is the probability"):
        nbtools.grade_perfect_loss(1)


def test_grade_logit_grad_checks_against_finite_differences_and_names_the_mistake():
    y = np.array([2.0, 1.0, 0.1, -1.0])
    p = core.softmax(y.reshape(-1, 1)).ravel()
    nbtools.grade_logit_grad(p - np.eye(4)[1], y, 1)
    nbtools.grade_logit_grad([1.0, 0.0, -1.0, 0.0], [50.0, 0.0, 0.0, 0.0], 2)   # sure and wrong
    for answer, signature in ((p, "-1 at the target .* is missing"), (np.eye(4)[1] - p, "sign is flipped"),
                              (p - 1, "every entry"), (np.zeros(4), r"all zeros: .*here p\[target\] = 0\.2347")):
        with pytest.raises(WrongAnswer, match=f"(?s)relative error.*likely mistake: .*{signature}"):
            nbtools.grade_logit_grad(answer, y, 1)
    with pytest.raises(WrongAnswer, match="give 4 numbers"):
        nbtools.grade_logit_grad([1.0, 2.0], y, 1)


def test_grade_logit_grad_names_wrong_target_dL_dp_and_rounded_numbers():
    y = np.array([2.0, 1.0, 0.1, -1.0])
    p = core.softmax(y.reshape(-1, 1)).ravel()
    dL_dp = np.zeros(4)
    dL_dp[1] = -1 / p[1]
    for answer, signature in ((p - np.eye(4)[2], "target 'l'; the target here is 'h'"),
                              (dL_dp, "this is dL/dp"),
                              (np.round(p - np.eye(4)[1], 4), "rounded to 4 decimals")):
        with pytest.raises(WrongAnswer, match=f"(?s)relative error.*likely mistake: .*{signature}"):
            nbtools.grade_logit_grad(answer, y, 1, chars="ehlo")
    sure = np.array([0.0, 0.0, 6.0, 0.0])                   # small entries: 4 decimals are 0.4 % off
    rounded = np.round(core.softmax(sure.reshape(-1, 1)).ravel() - np.eye(4)[2], 4)
    with pytest.raises(WrongAnswer, match="rounded to 4 decimals"):
        nbtools.grade_logit_grad(rounded, sure, 2)
    with pytest.raises(WrongAnswer, match="target index 0; the target here is index 2"):
        nbtools.grade_logit_grad(core.softmax(sure.reshape(-1, 1)).ravel() - np.eye(4)[0], sure, 2)
    off = p - np.eye(4)[1] + 0.01                           # a wrong answer near, not rounded
    with pytest.raises(WrongAnswer) as e:
        nbtools.grade_logit_grad(off, y, 1)
    assert "likely mistake" not in str(e.value)


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


def test_grade_window_loss_grad_names_a_softmax_over_the_wrong_axis():
    def wrong_axis(ys, t):
        p = np.exp(ys - ys.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)                    # each row sums to 1, not each column
        dys = p.copy()
        dys[t, np.arange(len(t))] -= 1
        return float(-np.log(p[t, np.arange(len(t))]).sum()), dys

    with pytest.raises(WrongAnswer, match="(?s)likely mistake: the softmax is over the wrong axis"):
        nbtools.grade_window_loss_grad(wrong_axis, np.random.default_rng(5))


def test_grade_slope_needs_a_measurement_with_the_eps_given():
    centred = lambda f, y, d, eps: (f(y + eps * d) - f(y - eps * d)) / (2 * eps)  # noqa: E731
    nbtools.grade_slope(centred, np.random.default_rng(4))
    cases = {"one-sided": lambda f, y, d, eps: (f(y + eps * d) - f(y)) / eps,
             "the 2 is missing": lambda f, y, d, eps: 2 * centred(f, y, d, eps),
             "not the eps given": lambda f, y, d, eps: centred(f, y, d, 1e-5),
             "the /eps is missing": lambda f, y, d, eps: (f(y + eps * d) - f(y - eps * d)) / 2}
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


def test_set_order_in_fresh_python_follows_the_hash_salt(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("the quick brown fox jumps over the lazy dog\n", encoding="utf-8")
    salt_1 = nbtools.set_order_in_fresh_python(path, 1)
    assert sorted(salt_1) == sorted(set(path.read_text(encoding="utf-8")))   # every character, once
    assert nbtools.set_order_in_fresh_python(path, 1) == salt_1              # same salt, same order
    assert any(nbtools.set_order_in_fresh_python(path, s) != salt_1 for s in (2, 3, 4))


def test_per_call_seconds_is_the_best_repeat_divided_by_the_calls(monkeypatch):
    import timeit
    seen = {}

    def fake_repeat(f, number, repeat):
        seen.update(number=number, repeat=repeat)
        return [0.5, 0.2, 0.3]

    monkeypatch.setattr(timeit, "repeat", fake_repeat)
    assert nbtools.per_call_seconds(lambda: None, number=100, repeat=3) == pytest.approx(0.002)
    assert seen == {"number": 100, "repeat": 3}


# --- notebook 05


def _small_rnn(seed=0, V=5, H=4, T=6):
    rng = np.random.default_rng(seed)
    p = core.init_params(V, H, rng, scale=0.5)
    return p, rng.integers(V, size=T), rng.integers(V, size=T), np.tanh(rng.standard_normal((H, 1)))


def test_sampled_check_repeats_its_entries_and_checks_float32_in_float32():
    p, x, y, h0 = _small_rnn()
    a, b = (nbtools.sampled_check(p, x, y, h0, seed=7, num_checks=5) for _ in range(2))
    assert a == b and max(a.values()) < core.GRAD_CHECK_TOL
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    e32 = nbtools.sampled_check(p32, x, y, h0, seed=7, num_checks=5)
    assert min(e32.values()) > core.GRAD_CHECK_TOL              # float32 rounding at step 1e-5


def test_scaled_gradient_is_a_mistake_of_known_size_in_the_named_parameters_only():
    p, x, y, h0 = _small_rnn()
    doubled = nbtools.scaled_gradient(core.loss_and_grads, 2.0, names=["Wxh"])
    loss, g, _ = core.loss_and_grads(p, x, y, h0)
    loss2, g2, _ = doubled(p, x, y, h0)
    assert loss2 == loss and np.array_equal(g2["Wxh"], 2 * g["Wxh"]) and np.array_equal(g2["Whh"], g["Whh"])
    errs = nbtools.sampled_check(p, x, y, h0, seed=1, grad_fn=nbtools.scaled_gradient(core.loss_and_grads, 0.5))
    assert all(abs(e - 1 / 3) < 1e-6 for e in errs.values())


def test_bug_pattern_reads_failures_conditions_and_a_common_factor():
    assert nbtools.bug_pattern({"a": 1e-10, "b": 0.5}, {"T = 1": 1e-9}) == (False, True, False, False)
    assert nbtools.bug_pattern({"a": 1 / 3, "b": 1 / 3}, {"c": 1 / 3})[-1] is True
    assert nbtools.bug_pattern({"a": 1.0, "b": 1.0}, {"c": 1.0})[-1] is False      # a sign flip, not a factor


def _centered(f, x, delta=1e-5, sign=1.0, half=0.5, restore=True):
    grad = np.zeros_like(x, dtype=float)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + delta
        fp = f()
        x[ix] = old - delta
        grad[ix] = sign * (fp - f()) * half / delta
        x[ix] = old if restore else old - delta
    return grad


def test_grade_centered_gradient_passes_the_right_one_and_names_each_mistake():
    nbtools.grade_centered_gradient(_centered, np.random.default_rng(0))
    for kwargs, message in (({"sign": -1.0}, "the sign is flipped"), ({"half": 1.0}, "twice the slope"),
                            ({"restore": False}, "not put back"), ({"delta": 1e-5, "half": 0.5 * 1.001}, "relative error")):
        with pytest.raises(WrongAnswer, match=message):
            nbtools.grade_centered_gradient(lambda f, x, d, kw=kwargs: _centered(f, x, **kw), np.random.default_rng(0))

    def one_sided(f, x, delta):
        f0, grad = f(), np.zeros_like(x)
        for ix in np.ndindex(x.shape):
            old = x[ix]
            x[ix] = old + delta
            grad[ix] = (f() - f0) / delta
            x[ix] = old
        return grad

    with pytest.raises(WrongAnswer, match="is the one-sided difference"):
        nbtools.grade_centered_gradient(one_sided, np.random.default_rng(0))


def test_grade_mystery_bug_accepts_the_bug_and_says_what_tells_a_wrong_name_apart():
    def buggy(p, x, y, h0, bug="none"):
        loss, g, h = core.loss_and_grads(p, x, y, h0)
        if bug == "half":
            g = {k: v / 2 for k, v in g.items()}
        elif bug == "why_doubled":
            g = dict(g, Why=2 * g["Why"])
        elif bug == "why_tripled":
            g = dict(g, Why=3 * g["Why"])
        return loss, g, h

    bugs = ("none", "half", "why_doubled", "why_tripled")
    mystery = lambda *a: buggy(*a, bug="half")  # noqa: E731
    nbtools.grade_mystery_bug("half", bugs, mystery, buggy, 6, np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match=r"0.5 times the right one.*same 0.333"):
        nbtools.grade_mystery_bug("why_doubled", bugs, mystery, buggy, 6, np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match=r"'half' makes every gradient 0.5 times"):
        nbtools.grade_mystery_bug("half", bugs, lambda *a: buggy(*a, bug="why_doubled"), buggy, 6,
                                  np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match="the same parameters fail"):
        nbtools.grade_mystery_bug("why_tripled", bugs, lambda *a: buggy(*a, bug="why_doubled"), buggy, 6,
                                  np.random.default_rng(0))
    with pytest.raises(WrongAnswer, match="answer must be one of"):
        nbtools.grade_mystery_bug("none", bugs, mystery, buggy, 6, np.random.default_rng(0))


def test_grade_factor_score_names_denominators_sign_flip_and_the_factor_two_score():
    nbtools.grade_factor_score(0.5, 3)
    for answer, message in ((1 / 3, "factor 2"), (1.0, "sign flip"), (2.0, r"\|a - b\| / \|b\|"),
                            (2 / 3, r"\|a - b\| / \|a\|"), (0.4, "is not")):
        with pytest.raises(WrongAnswer, match=message):
            nbtools.grade_factor_score(answer, 3)
    nbtools.grade_factor_score(1 / 3, 2)                  # for a factor 2, 1/3 is right


def _tiny_generate_setup():
    vocab = core.Vocab.from_text("abcd efgh.\nJuliet")
    trained = core.init_params(vocab.size, 6, np.random.default_rng(1), scale=0.5)
    untrained = core.init_params(vocab.size, 6, np.random.default_rng(2))
    return vocab, trained, untrained


def test_check_generate_00_accepts_the_text_and_names_a_reused_generator(capsys):
    vocab, trained, untrained = _tiny_generate_setup()
    check = nbtools.check_generate_00(trained, untrained, vocab, seed=3)
    right = core.generate(trained, vocab, "Juliet.", 200, np.random.default_rng(10), temperature=0.5)
    assert check(right) is True
    rng = np.random.default_rng(10)                       # one generator, used twice
    core.generate(trained, vocab, "Juliet.", 200, rng, temperature=0.5)
    with pytest.raises(WrongAnswer, match="same generator"):
        check(core.generate(trained, vocab, "Juliet.", 200, rng, temperature=0.5))
    with pytest.raises(WrongAnswer, match="temperature 1.0"):
        check(core.generate(trained, vocab, "Juliet.", 200, np.random.default_rng(10), temperature=1.0))
    with pytest.raises(WrongAnswer, match="untrained"):
        check(core.generate(untrained, vocab, "Juliet.", 200, np.random.default_rng(10), temperature=0.5))
    with pytest.raises(WrongAnswer, match="prime is missing"):
        check(right[len("Juliet."):])


def test_check_uniform_loss_00_accepts_4_significant_digits():
    text = "".join(chr(97 + i % 20) for i in range(1100))
    check = nbtools.check_uniform_loss_00(text, core.Vocab.from_text(text), T=25)
    assert check(round(25 * np.log(20), 2)) is True and check(74.89) is True   # 74.8933 rounded
    with pytest.raises(WrongAnswer, match="not the uniform"):
        check(74.7)


def test_check_generate_00_names_temperature_0_3_and_the_settings():
    vocab, trained, untrained = _tiny_generate_setup()
    check = nbtools.check_generate_00(trained, untrained, vocab, seed=3)
    with pytest.raises(WrongAnswer, match="temperature 0.3"):
        check(core.generate(trained, vocab, "Juliet.", 200, np.random.default_rng(10), temperature=0.3))
    with pytest.raises(WrongAnswer, match="temperature 0.5"):
        check(core.generate(trained, vocab, "Juliet.", 200, np.random.default_rng(10), temperature=0.65))


def test_check_uniform_loss_00_accepts_T_ln_V_and_names_off_by_one_windows():
    text = "".join(chr(97 + i % 20) for i in range(1100))
    vocab = core.Vocab.from_text(text)
    check = nbtools.check_uniform_loss_00(text, vocab, T=25)
    assert check(25 * np.log(20)) is True                 # T ln V, worked by hand
    with pytest.raises(WrongAnswer, match="not 24"):
        check(24 * np.log(20))
    with pytest.raises(WrongAnswer, match="not 26"):
        check(26 * np.log(20))
    with pytest.raises(WrongAnswer, match="one character"):
        check(np.log(20))
