"""What several notebooks share, by concern: exercise grading, data, numbers, figures, the recall task.

The model itself lives in ``charrnn_core`` and the file plumbing in ``charrnn_io``; this
module holds only the notebooks' own helpers, so that each notebook keeps just the code a
learner should read. It calls the core for the model (a step of either cell, the gradient
check's error measure, clipping) rather than writing it again. Tested in
``tests/test_nbtools.py`` and ``tests/test_nbtools_recall.py``.

    exercise grading   exercise, WrongAnswer, call, compare, compare_all, compare_normwise,
                       check_generate_00, check_uniform_loss_00 (00),
                       grade_bptt_step, BPTT_MISTAKES, gist_bptt_step, name_bptt_mistake,
                       grade_bptt_step_named (04),
                       STEP_MISTAKES, name_step_mistake, grade_step_named (02),
                       grade_logit_grad, grade_window_loss_grad, grade_slope (03)
                       sampled_check, scaled_gradient, bug_pattern, grade_centered_gradient,
                       grade_mystery_bug, grade_factor_score (05)
    data               ROOT, CORPUS, CHECKPOINT, load_corpus, load_pretrained, held_out_text,
                       set_order_in_fresh_python (01)
    numbers            moving_average, spectral_radius, sigma_max, perplexity, per_call_seconds, counted, flat,
                       cosine, clipping_curves, error_table
    figures            style, show_matrix, draw_unrolled_rnn, error_heatmap, plot_clipping,
                       draw_backward_step
    the recall task    RECALL_*, recall_batch, last_logits, recall_accuracy, train_recall,
                       recall_answers (notebooks 07 and 10)

Exercises. Every checker is a function decorated with ``@exercise("Exercise 1")``:

    @exercise("Exercise 1")
    def check_1(answer):
        assert answer == 42, f"{answer} is not the answer"
        return "the answer to everything"      # optional remark printed after "correct"

    check_1(answer_1)

An unanswered exercise (``None``, ``...``, or a skeleton that raises
``NotImplementedError``) prints "not answered yet" and does not fail, so a notebook
without its solutions (the student edition) runs top to bottom. A wrong answer raises
``WrongAnswer`` with one message that says what is wrong.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import charrnn_core as core
import charrnn_io


# ------------------------------------------------------------------ exercise grading


class WrongAnswer(AssertionError):
    """An exercise's answer is wrong; the message says what is wrong."""


def exercise(title: str):
    """Decorator for a checker ``check(answer) -> remark or None`` (see the module docstring)."""

    def wrap(check):
        @functools.wraps(check)
        def run(answer):
            if answer is None or answer is Ellipsis:
                print(f"{title}: not answered yet")
                return False
            try:
                remark = check(answer)
            except NotImplementedError:
                print(f"{title}: not answered yet (the function still raises NotImplementedError)")
                return False
            except WrongAnswer:
                raise
            except AssertionError as e:  # a plain assert in a checker: same clean message
                raise WrongAnswer(f"{title}: {e}" if str(e) else f"{title}: not right yet") from None
            print(f"{title}: correct ✓" + (f"  ({remark})" if remark else ""))
            return True

        return run

    return wrap

def call(fn, *args, what: str = "your function"):
    """Call a learner's function; an error inside it becomes one WrongAnswer naming it.

    NotImplementedError (an untouched skeleton) passes through, so ``exercise``
    reports the exercise as not answered yet.
    """
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any mistake in the learner's code
        raise WrongAnswer(f"{what} raised {type(e).__name__}: {e}") from None

def compare(name: str, got, expected, tol: float = 1e-7) -> None:
    """Raise WrongAnswer if ``got`` differs from ``expected`` in shape or by rel_error > tol."""
    expected = np.asarray(expected)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name}: expected an array of numbers, got {type(got).__name__}") from None
    if got.shape != expected.shape:
        raise WrongAnswer(f"{name}: shape {got.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(got)):
        raise WrongAnswer(f"{name}: holds NaN or infinity")
    err = core.rel_error(got, expected)
    if err > tol:
        raise WrongAnswer(f"{name}: relative error {err:.1e} (needs < {tol:.0e})")

def compare_all(got: dict, expected: dict, tol: float = 1e-7) -> None:
    """``compare`` every entry of two dicts; one WrongAnswer listing every wrong entry."""
    if not isinstance(got, dict) or set(got) != set(expected):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise WrongAnswer(f"expected a dict with keys {sorted(expected)}, got {keys}")
    wrong = []
    for k in expected:
        try:
            compare(k, got[k], expected[k], tol)
        except WrongAnswer as e:
            wrong.append(str(e))
    if wrong:
        raise WrongAnswer("; ".join(wrong))

def compare_normwise(name: str, got, expected, tol: float = core.GRAD_CHECK_TOL) -> None:
    """Like ``compare``, but with ``core.norm_rel_error``: for checks against finite differences.

    The default ``tol`` is the series' pass rule for a gradient check, ``core.GRAD_CHECK_TOL``.
    """
    compare(name, got, expected, tol=math.inf)       # shape and finiteness, with the same messages
    err = core.norm_rel_error(got, expected)
    if err > tol:
        raise WrongAnswer(f"{name}: relative error {err:.1e} against finite differences (needs < {tol:.0e})")


def _random_model(rng, V, H, scale=0.5):
    """A small random model with non-zero biases (so that every term matters): params dict."""
    params = core.init_params(V, H, rng, scale=scale)
    params["bh"] = scale * rng.standard_normal((H, 1))
    params["by"] = scale * rng.standard_normal((V, 1))
    return params

def _copy(params):
    return {k: v.copy() for k, v in params.items()}

def _with_context(context, check):
    try:
        check()
    except WrongAnswer as e:
        raise WrongAnswer(f"{e}  [{context}]") from None

def grade_bptt_step(bptt_step, rng) -> None:
    """Grade one iteration of the gist's backward loop.

    ``bptt_step(params, grads, dhnext, x, target, h, h_prev, p) -> dhnext for step t-1``
    must add step t's share into the five arrays of ``grads`` (in place) and return
    W_hh^T dhraw. Checked on one step against finite differences, then as the body of a
    whole backward loop against ``charrnn_core.backward`` and finite differences.
    """
    V, H = int(rng.integers(3, 7)), int(rng.integers(2, 6))
    params = _random_model(rng, V, H)
    names = core.PARAM_NAMES

    # 1. one step in isolation: the gradient of L_t + g . h_t, where g is the incoming dhnext
    h_prev, g = 0.5 * rng.standard_normal((H, 1)), 0.5 * rng.standard_normal((H, 1))
    ix, target = int(rng.integers(V)), int(rng.integers(V))

    # The RNN step is written out here on purpose (not core.rnn_step): part 1 grades against
    # finite differences of this independent copy, so a bug in the core cannot hide one here.
    def step_loss():
        h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
        p = core.softmax(params["Why"] @ h + params["by"])
        return float(-np.log(p[target, 0]) + (g * h).sum())

    h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    p = core.softmax(params["Why"] @ h + params["by"])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    got = call(bptt_step, _copy(params), grads, g.copy(), core.one_hot(ix, V), target, h.copy(),
               h_prev.copy(), p.copy(), what="bptt_step")
    expected = {n: core.numerical_gradient(step_loss, params[n]) for n in names}
    expected["dhnext"] = core.numerical_gradient(step_loss, h_prev)

    def check_step():
        compare_all({"dhnext (returned)": got, **{n: grads[n] for n in names}},
                    {"dhnext (returned)": expected["dhnext"], **{n: expected[n] for n in names}},
                    tol=math.inf)
        wrong = [f"{n}: relative error {core.norm_rel_error(grads[n], expected[n]):.1e}" for n in names
                 if core.norm_rel_error(grads[n], expected[n]) > core.GRAD_CHECK_TOL]
        if core.norm_rel_error(got, expected["dhnext"]) > core.GRAD_CHECK_TOL:
            wrong.append(f"dhnext (returned): relative error {core.norm_rel_error(got, expected['dhnext']):.1e}")
        if wrong:
            raise WrongAnswer("; ".join(wrong) + " (against finite differences)")

    _with_context(f"one step, V={V}, H={H}, with a non-zero dhnext arriving", check_step)

    # 2. the body of a whole backward loop over a random sequence
    T = int(rng.integers(4, 8))
    inputs, targets = rng.integers(V, size=T), rng.integers(V, size=T)
    hprev = 0.5 * rng.standard_normal((H, 1))
    _, cache = core.forward(params, inputs, targets, hprev)
    hs, ps = cache[2], cache[3]
    want, dhs = core.backward(params, cache)
    want["dhnext"] = params["Whh"].T @ ((1 - hs[0] ** 2) * dhs[0][:, None])     # dL/dhprev
    grads, dhnext = {k: np.zeros_like(v) for k, v in params.items()}, np.zeros((H, 1))
    for t in reversed(range(T)):
        dhnext = call(bptt_step, _copy(params), grads, dhnext, core.one_hot(inputs[t], V), int(targets[t]),
                      hs[t].copy(), hs[t - 1].copy(), ps[t].copy(), what="bptt_step")
    _with_context(f"the whole loop over T={T} steps, against charrnn_core.backward",
                  lambda: compare_all({**grads, "dhnext": dhnext}, want, tol=1e-9))
    numeric = core.numerical_gradient(lambda: core.forward(params, inputs, targets, hprev)[0], hprev)
    _with_context(f"the whole loop over T={T} steps",
                  lambda: compare_normwise("dhnext (dL/dhprev)", dhnext, numeric))

# Known mistakes in the body of the backward loop (notebook 04), each as the change it makes to
# the gist's step; name_bptt_mistake recognises them by their output on one random step.
BPTT_MISTAKES = {
    "minus_one": "the -1 in dy is missing: dy must be p - onehot(target), not p",
    "use_dhnext": "dhnext is not added into dh (only the path through y_t is counted)",
    "transpose": "dhnext is Whh @ dhraw: going back needs the transpose, Whh.T @ dhraw",
    "tanh": "the tanh derivative is missing: dhraw = (1 - h * h) * dh",
    "bh": "dbh is never accumulated: grads['bh'] += dhraw is missing",
    "h_prev": "dWhh pairs dhraw with h_t; it needs h_{t-1} (h_prev), what Whh multiplied",
    "dhnext_dh": "dhnext is Whh.T @ dh: it skips the tanh; it must be Whh.T @ dhraw",
}

def gist_bptt_step(params, grads, dhnext, x, target, h, h_prev, p, mistake=None):
    """The gist's loop body, or it with one of BPTT_MISTAKES planted: returns dhnext for t-1."""
    dy = p.copy()
    if mistake != "minus_one":
        dy[target] -= 1
    grads["Why"] += dy @ h.T
    grads["by"] += dy
    dh = params["Why"].T @ dy + (0 if mistake == "use_dhnext" else dhnext)
    dhraw = dh if mistake == "tanh" else (1 - h * h) * dh
    if mistake != "bh":
        grads["bh"] += dhraw
    grads["Wxh"] += dhraw @ x.T
    grads["Whh"] += dhraw @ (h if mistake == "h_prev" else h_prev).T
    return (params["Whh"] if mistake == "transpose" else params["Whh"].T) @ (dh if mistake == "dhnext_dh" else dhraw)

def name_bptt_mistake(bptt_step, rng):
    """The description in BPTT_MISTAKES whose output ``bptt_step`` reproduces on one random step
    (grads and returned dhnext, to 1e-9), or None if it matches none of them."""
    V, H = 5, 4
    params = _random_model(rng, V, H)
    ix, target = 1, 3
    h_prev, dhnext = 0.5 * rng.standard_normal((H, 1)), 0.5 * rng.standard_normal((H, 1))
    h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h_prev + params["bh"])
    p = core.softmax(params["Why"] @ h + params["by"])
    args = (dhnext, core.one_hot(ix, V), target, h, h_prev, p)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    try:
        got = np.asarray(bptt_step(_copy(params), grads, *(a.copy() if isinstance(a, np.ndarray) else a
                                                           for a in args)), dtype=float)
    except Exception:  # noqa: BLE001 - a learner's error is reported by the grader, not here
        return None
    for mistake, description in BPTT_MISTAKES.items():
        want = {k: np.zeros_like(v) for k, v in params.items()}
        want_dhnext = gist_bptt_step(params, want, *args, mistake=mistake)
        if got.shape == want_dhnext.shape and np.allclose(got, want_dhnext, rtol=1e-9, atol=1e-12) and all(
                np.shape(grads[k]) == want[k].shape and np.allclose(grads[k], want[k], rtol=1e-9, atol=1e-12)
                for k in want):
            return description
    return None

def grade_bptt_step_named(bptt_step, rng) -> None:
    """``grade_bptt_step``; when it fails and the answer shows a known mistake's signature, the
    WrongAnswer also names that mistake (``name_bptt_mistake``)."""
    try:
        grade_bptt_step(bptt_step, rng)
    except WrongAnswer as e:
        mistake = name_bptt_mistake(bptt_step, np.random.default_rng(0))
        if mistake is None:
            raise
        raise WrongAnswer(f"{e}\n  likely mistake: {mistake}") from None

def _known_wrong_answer(got, named: dict) -> None:
    """Raise WrongAnswer(message) for the first entry of ``named`` (message -> one wrong answer, or a
    list of them, made with that mistake) that ``got`` equals to rounding."""
    for message, wrongs in named.items():
        for wrong in (wrongs if isinstance(wrongs, list) else [wrongs]):
            if np.shape(got) == np.shape(wrong) and np.allclose(got, wrong, rtol=1e-9, atol=1e-12):
                raise WrongAnswer(message)

def _numbers(name, answer) -> np.ndarray:
    try:
        return np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name}: expected an array of numbers, got {type(answer).__name__}") from None

def grade_dhnext_by_hand(answer, Whh, dhraw) -> None:
    """Notebook 04, exercise 1: ``answer`` must be dhnext = Whh.T @ dhraw, an (H, 1) column (or (H,)),
    checked against finite differences of dhraw . (Whh @ h). Known mistakes are named."""
    H = Whh.shape[0]
    got = _numbers("dhnext", answer)
    if got.shape == (H, H):
        raise WrongAnswer(f"dhnext: shape {got.shape}, expected ({H}, 1): `*` multiplies entry by entry "
                          "(and broadcasts to a matrix); a matrix times a vector is `@` (np.dot)")
    if got.shape not in ((H, 1), (H,)):
        raise WrongAnswer(f"dhnext: shape {got.shape}, expected ({H}, 1)")
    got = got.reshape(H, 1)
    back = Whh.T @ dhraw
    _known_wrong_answer(got, {
        "that is Whh @ dhraw; going backwards needs the transpose, Whh.T @ dhraw": Whh @ dhraw,
        "the sign is flipped: the chain rule adds no minus sign, dhnext is +Whh.T @ dhraw": -back,
        "a tanh factor is applied: dhraw is already past the tanh (item 5), so dhnext is Whh.T @ dhraw":
            [Whh.T @ ((1 - dhraw ** 2) * dhraw), (1 - back ** 2) * back,
             Whh.T @ ((1 - np.tanh(dhraw) ** 2) * dhraw), (1 - np.tanh(back) ** 2) * back]})
    h_probe = np.zeros((H, 1))
    expected = core.numerical_gradient(lambda: (dhraw.T @ (Whh @ h_probe)).item(), h_probe)
    err = core.norm_rel_error(got, expected)
    if err > core.GRAD_CHECK_TOL:
        raise WrongAnswer(f"not dL/dh_prev (relative error {err:.1e}): which matrix carries dhraw back?")

def grade_param_names(answer, expected: set) -> None:
    """Notebook 04, exercise 2: ``answer`` must be the set ``expected`` of parameter names."""
    if isinstance(answer, str):
        raise WrongAnswer(f"{answer!r} is a string, not a set of names (set({answer!r}) would be its "
                          f"letters): write the names in braces, e.g. {{'{answer}'}}")
    try:
        answer = set(answer)
    except TypeError:
        raise WrongAnswer(f"expected a set of names such as {{'Why'}}, got {type(answer).__name__}") from None
    unknown = sorted(map(str, answer - set(core.PARAM_NAMES)))
    if unknown:
        raise WrongAnswer(f"not parameter names: {unknown} (the five are {list(core.PARAM_NAMES)})")
    if answer - expected:
        raise WrongAnswer(f"{sorted(answer - expected)} come from dy and h_t alone, before dhnext enters")
    if expected - answer:
        raise WrongAnswer(f"missing {sorted(expected - answer)}: which lines use dhraw?")

def grade_last_dh(answer, Why, h, p, target, expected) -> None:
    """Notebook 04, exercise 3: dL/dh_{T-1} = Why.T @ (p - onehot(target)), against ``expected``
    (finite differences); the missing -1 and dhraw given for dh are named."""
    got = _numbers("dL/dh_{T-1}", answer)
    dy = p.copy()
    dy[target] -= 1
    _known_wrong_answer(got, {
        "that is Why.T @ p: dy is p minus the one-hot of the target (the -1)": Why.T @ p,
        "that is dhraw, the gradient after the tanh (item 5); dL/dh_{T-1} comes before it: Why.T @ dy":
            (1 - h * h) * (Why.T @ dy)})
    compare_normwise("dL/dh_{T-1}", got, expected)

# Known mistakes in one forward step (notebook 02's my_step), each as the change it makes to
# the step; name_step_mistake recognises them by their output on one random model.
STEP_MISTAKES = {
    "tanh": "the tanh is missing: h = tanh(Wxh x + Whh h_prev + bh)",
    "bh": "bh is missing from h: h = tanh(Wxh x + Whh h_prev + bh)",
    "recurrence": "Whh @ h_prev is missing from h: the previous state feeds into the new one",
    "by": "by is missing from the logits: y = Why h + by",
    "sign": "the loss has the wrong sign: it is -ln p[target], never negative",
    "log10": "the loss uses log10: the series measures in nats, -np.log (the natural log)",
    "ix": "the loss is taken at ix, the input: it is -ln p[target], the character that comes next",
    "reads_target": "h reads Wxh[:, [target]]: the step reads the input ix and predicts target",
    "swap": "input and target are swapped: h reads Wxh[:, [ix]], the loss is -ln p[target]",
}

def _planted_step(params, ix, h_prev, target, mistake=None):
    """One forward step (h, p, loss), or it with one of STEP_MISTAKES planted."""
    ix, target = {"swap": (target, ix), "reads_target": (target, target)}.get(mistake, (ix, target))
    z = (params["Wxh"][:, [ix]] + (0 if mistake == "recurrence" else params["Whh"] @ h_prev)
         + (0 if mistake == "bh" else params["bh"]))
    h = z if mistake == "tanh" else np.tanh(z)
    p = core.softmax(params["Why"] @ h + (0 if mistake == "by" else params["by"]))
    loss = {"sign": np.log(p[target, 0]), "log10": -np.log10(p[target, 0]),
            "ix": -np.log(p[ix, 0])}.get(mistake, -np.log(p[target, 0]))
    return h, p, float(loss)

def name_step_mistake(step, rng):
    """The description in STEP_MISTAKES whose output ``step(params, ix, h_prev, target)``
    reproduces on one random model (h, p and loss, to 1e-9), or None if it matches none."""
    V, H = 5, 4
    params = _random_model(rng, V, H)
    h_prev, ix, target = 0.5 * rng.standard_normal((H, 1)), 1, 3
    try:
        with np.errstate(all="ignore"):
            got = [np.asarray(g, dtype=float) for g in step(_copy(params), ix, h_prev.copy(), target)]
    except Exception:  # noqa: BLE001 - a learner's error is reported by the grader, not here
        return None
    for mistake, description in STEP_MISTAKES.items():
        want = _planted_step(params, ix, h_prev, target, mistake)
        if len(got) == 3 and all(g.shape == np.shape(w) and np.allclose(g, w, rtol=1e-9, atol=1e-12)
                                 for g, w in zip(got, want)):
            return description
    return None

def grade_step_named(step, rng, trials: int = 3, what: str = "my_step") -> None:
    """Grade ``step(params, ix, h_prev, target) -> (h (H, 1), p (V, 1), loss)`` (notebook 02).

    h, p and loss are compared with ``charrnn_core.rnn_step`` and ``softmax`` on ``trials``
    random models and one more whose logits are near 1000 (where the textbook softmax
    overflows). A WrongAnswer names the wrong quantities, and the likely mistake when the
    answer shows a known one's signature (``name_step_mistake``, or an overflow)."""
    for trial in range(trials + 1):
        V, H = int(rng.integers(3, 9)), int(rng.integers(2, 7))
        params = _random_model(rng, V, H)
        big = trial == trials
        if big:
            params["by"] += 1000.0                   # logits near 1000: the same p, but exp overflows
        h_prev = 0.5 * rng.standard_normal((H, 1))
        ix, target = int(rng.integers(V)), int(rng.integers(V))
        with np.errstate(all="ignore"):
            got = call(step, _copy(params), ix, h_prev.copy(), target, what=what)
        if not (isinstance(got, tuple) and len(got) == 3):
            raise WrongAnswer(f"{what} should return the tuple (h, p, loss), got {type(got).__name__}")
        h = core.rnn_step(params, [ix], h_prev)
        p = core.softmax(params["Why"] @ h + params["by"])
        context = f"a random model with V={V}, H={H}, input {ix}, target {target}" + (
            ", logits near 1000" if big else "")
        try:
            _with_context(context, lambda: compare_all(
                {"h": got[0], "p": got[1], "loss": got[2]},
                {"h": h, "p": p, "loss": np.float64(-np.log(p[target, 0]))}, tol=1e-9))
        except WrongAnswer as e:
            mistake = name_step_mistake(step, np.random.default_rng(0))
            if big and mistake is None and not np.all(np.isfinite(np.asarray(got[1], dtype=float))):
                mistake = ("the textbook softmax np.exp(y) / np.sum(np.exp(y)) overflows at large "
                           "logits: subtract the largest logit first (or call softmax)")
            if mistake is None:
                raise
            raise WrongAnswer(f"{e}\n  likely mistake: {mistake}") from None

def _one_number(answer, what: str) -> float:
    """``answer`` as one float, or a WrongAnswer saying why it is not one (notebook 02)."""
    if isinstance(answer, (str, bytes)):
        raise WrongAnswer(f"{what}: {answer!r} is text; write the number itself, without quotes")
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{what}: {answer!r} is not a number") from None
    if a.size != 1:
        raise WrongAnswer(f"{what}: one number, not an array of shape {a.shape}")
    return float(a.reshape(-1)[0])

def grade_loss_of_p(answer) -> str:
    """Notebook 02, exercise 1: the loss -ln 0.3 of p = (0.1, 0.6, 0.3) with target index 2."""
    answer, p = _one_number(answer, "the loss of one step"), np.array([0.1, 0.6, 0.3])
    hints = {math.log(0.3): "that is ln p: the loss is minus it", -math.log10(0.3): "that is log10: use ln",
             0.3: "that is p[2] itself: the loss is -ln p[2]", 0.7: "that is 1 - p[2]: the loss is -ln p[2]",
             -math.log(0.1): "that is the loss of index 0", -math.log(0.6): "that is the loss of index 1",
             -np.log(p).sum(): "that is -ln p summed over all three: only the target's p[2] counts",
             -np.log(p).mean(): "that is the mean of -ln p over all three: only the target's p[2] counts",
             -(p * np.log(p)).sum(): "that is the entropy -sum p ln p: the loss is -ln p[target] alone"}
    hint = next((h for v, h in hints.items() if math.isclose(answer, v, rel_tol=1e-6)), "it is -ln p[target]")
    if math.isclose(answer, -math.log(0.3), rel_tol=1e-3):
        hint = "the right value, rounded: compute it (-math.log(0.3)) instead of typing digits"
    if not math.isclose(answer, -math.log(0.3), rel_tol=1e-9):
        raise WrongAnswer(f"{answer} is not the loss: {hint}")
    return f"{answer:.4f} nats"

def grade_perfect_loss(answer) -> str:
    """Notebook 02, exercise 2: the loss of a prediction that gives the target probability 1."""
    answer = _one_number(answer, "the loss of a perfect prediction")
    certain = core.softmax(np.array([[0.0], [1000.0], [0.0]]))
    if not math.isclose(answer, -math.log(certain[1, 0]), abs_tol=1e-12):
        hint = "1 is the probability; the loss is -ln of it" if answer == 1 else "the loss of certainty is -ln 1"
        raise WrongAnswer(f"{answer}? {hint}")
    return f"{abs(answer):.1f}, and a loss is never negative, since p <= 1"

def caught_warnings(fn, *args):
    """``(fn(*args), ["Category: message", ...])``: the result and every warning it raised."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]

def _normwise(name, got, want, tol=core.GRAD_CHECK_TOL, against=""):
    """compare_normwise's check with its message, against ``want`` described by ``against``."""
    compare(name, got, want, tol=math.inf)           # shape and finiteness
    err = core.norm_rel_error(got, want)
    if err > tol:
        raise WrongAnswer(f"{name}: relative error {err:.1e}{against} (needs < {tol:.0e})")

def _logit_grad_mistake(got, p, onehot):
    """The likely mistake when ``got`` should be dL/dy = p - onehot (columns), or None."""
    got = np.asarray(got, dtype=float).reshape(p.shape)
    rows = p.copy()
    rows[np.flatnonzero(onehot.any(axis=1))] -= 1    # what dy[targets] -= 1 does to a (V, T) array
    signatures = [
        (p, "the gradient is p itself: the -1 at the target (dy[targets[t]] -= 1) is missing"),
        (onehot - p, "the sign is flipped: dL/dy = p - onehot(target), not onehot - p"),
        (p - 1, "1 is subtracted from every entry; only the target's entry gets -1"),
        ((p - onehot) / p.shape[1], "dys is divided by T: the window's loss is a sum over steps, "
                                    "so its gradient is not averaged") if p.shape[1] > 1 else (None, ""),
        (rows, "dys[targets] -= 1 subtracts 1 from whole rows; index the column too: "
               "dys[targets, np.arange(T)] -= 1") if p.shape[1] > 1 else (None, ""),
    ]
    for want, description in signatures:
        if want is not None and core.norm_rel_error(got, want) < 1e-6:
            return description
    return None

def _one_logit_grad_mistake(answer, y, k, chars=None):
    """grade_logit_grad's mistakes beyond _logit_grad_mistake's: another target, dL/dp instead
    of dL/dy, the right numbers rounded (typed from a printout); or None."""
    answer = np.asarray(answer, dtype=float).reshape(-1, 1)
    p, V = core.softmax(y), len(y)
    name = (lambda j: f"'{chars[j]}'") if chars else (lambda j: f"index {j}")  # noqa: E731
    for j in range(V):
        if j != k and core.norm_rel_error(answer, p - core.one_hot(j, V)) < 1e-6:
            return f"this is p - onehot for the target {name(j)}; the target here is {name(k)}"
    dL_dp = np.zeros_like(p)
    dL_dp[k] = -1.0 / p[k, 0]
    if core.norm_rel_error(answer, dL_dp) < 1e-6:
        return ("this is dL/dp (-1/p at the target, 0 elsewhere), the gradient with respect to the "
                "probabilities; dL/dy goes on through softmax: p - onehot(target)")
    want = p - core.one_hot(k, V)
    for d in range(1, 7):
        if (np.allclose(np.round(answer, d), answer, rtol=0, atol=1e-12)
                and np.abs(answer - want).max() <= 0.51 * 10.0 ** -d):
            return (f"these are the right numbers rounded to {d} decimals, and the check needs full "
                    "precision: compute them (np.exp ...), don't type printed, rounded numbers")
    return None

def grade_logit_grad(answer, y, k, chars=None) -> None:
    """Grade an answer for dL/dy of L = -ln softmax(y)[k] (y: V logits) against finite
    differences, norm-wise at ``core.GRAD_CHECK_TOL`` (notebook 03); a WrongAnswer names the
    likely mistake (p without the -1, the sign flipped, -1 everywhere, another target, dL/dp,
    rounded numbers). ``chars`` (optional) names the characters in those messages."""
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    try:
        answer = np.asarray(answer, dtype=float).reshape(-1, 1)
    except (TypeError, ValueError):
        raise WrongAnswer(f"give {len(y)} numbers, one per character") from None
    if answer.shape != y.shape:
        raise WrongAnswer(f"give {len(y)} numbers, one per character, not {answer.size}")
    loss = lambda: float(np.log(np.exp(y - y.max()).sum()) + y.max() - y[k, 0])  # noqa: E731
    numeric = core.numerical_gradient(loss, y)
    try:
        _normwise("dL/dy", answer, numeric, against=" against finite differences")
    except WrongAnswer as e:
        p_k = float(core.softmax(y)[k, 0])
        mistake = (f"all zeros: p - onehot is 0 only if p[target] = 1, and here p[target] = {p_k:.4g}; "
                   "compute p - onehot" if not np.any(answer) else _logit_grad_mistake(answer, core.softmax(y), core.one_hot(k, len(y)))
                   or _one_logit_grad_mistake(answer, y, k, chars))
        raise WrongAnswer(f"{e}" + (f"\n  likely mistake: {mistake}" if mistake else "")) from None

def grade_window_loss_grad(fn, rng, trials: int = 3) -> None:
    """Grade ``fn(ys, targets) -> (loss, dys)`` for a window of logits ys (V, T) (notebook 03).

    loss = sum_t -ln softmax(ys[:, t])[targets[t]] and dys (V, T) its gradient, every
    comparison norm-wise at ``core.GRAD_CHECK_TOL``: dys against finite differences (logits
    near 0), and against p - onehot computed stably on one trial with logits near 1000
    (where an unshifted softmax overflows). A WrongAnswer names the likely mistake: a mean
    instead of a sum (off by exactly T), the missing -1, an overflowing softmax, ..."""
    for trial in range(trials):
        V, T = int(rng.integers(3, 9)), int(rng.integers(2, 6))
        shift = 1000.0 if trial == trials - 1 else 0.0
        ys = 2.0 * rng.standard_normal((V, T)) + shift
        targets = rng.integers(V, size=T)
        with np.errstate(all="ignore"):
            got = call(fn, ys.copy(), targets.copy(), what="window_loss_and_grad")
        if not (isinstance(got, tuple) and len(got) == 2):
            raise WrongAnswer(f"window_loss_and_grad should return the tuple (loss, dys), got {type(got).__name__}")
        p = core.softmax(ys)
        onehot = np.zeros((V, T))
        onehot[targets, np.arange(T)] = 1
        top = ys.max(axis=0)                         # -ln p = log-sum-exp(y) - y_target, computed stably
        def window_loss():
            return float(np.sum(top + np.log(np.exp(ys - top).sum(axis=0)) - ys[targets, np.arange(T)]))
        loss = window_loss()
        context = f"  [random logits around {shift:g}, V={V}, T={T}]"
        wrong, mistakes = [], []
        try:
            got_loss = float(np.asarray(got[0], dtype=float))
        except (TypeError, ValueError):
            raise WrongAnswer(f"loss should be a number, got {type(got[0]).__name__}{context}") from None
        err = core.norm_rel_error(got_loss, loss) if math.isfinite(got_loss) else math.inf
        if err > core.GRAD_CHECK_TOL:
            wrong.append(f"loss: {got_loss:.6g}, expected {loss:.6g}")
            if math.isfinite(got_loss) and core.norm_rel_error(got_loss * T, loss) < 1e-9:
                mistakes.append(f"the loss is the mean over the T={T} steps (off by exactly T): "
                                "the window's loss is their sum")
            elif math.isfinite(got_loss) and core.norm_rel_error(-got_loss, loss) < 1e-9:
                mistakes.append("the loss has the wrong sign: it is -ln p, never negative")
        want = p - onehot if shift else core.numerical_gradient(window_loss, ys)
        against = " against p - onehot" if shift else " against finite differences"
        try:
            _normwise("dys", got[1], want, against=against)
        except WrongAnswer as e:
            wrong.append(str(e))
            dys = np.asarray(got[1], dtype=float) if np.shape(got[1]) == (V, T) else None
            if dys is not None and np.all(np.isfinite(dys)):
                mistakes.append(_logit_grad_mistake(dys, p, onehot))
        rows = np.exp(ys - ys.max(axis=1, keepdims=True))
        rows /= rows.sum(axis=1, keepdims=True)            # softmax over the wrong axis: each row sums to 1
        if wrong and (core.norm_rel_error(got_loss, float(-np.log(rows[targets, np.arange(T)]).sum())) < 1e-9
                      or (np.shape(got[1]) == (V, T) and core.norm_rel_error(got[1], rows - onehot) < 1e-6)):
            mistakes = ["the softmax is over the wrong axis (axis=1, each row sums to 1): "
                        "normalise each column, one step's V logits: axis=0"]
        if shift and not (math.isfinite(got_loss) and np.all(np.isfinite(np.asarray(got[1], dtype=float)))):
            mistakes = ["the softmax overflows at logits near 1000 (exp(1000) is inf): "
                        "subtract each column's largest logit first"]
        if wrong:
            hint = "".join(f"\n  likely mistake: {m}" for m in mistakes if m)
            raise WrongAnswer("; ".join(wrong) + context + hint)

def grade_slope(fn, rng) -> None:
    """Grade ``fn(f, y, d, eps)``: the centred difference (f(y + eps d) - f(y - eps d)) / (2 eps),
    a slope *measured* along direction d (notebook 03). Checked on functions whose formula the
    learner has not seen, with several eps, so only a measurement passes; a WrongAnswer names a
    one-sided difference, a missing 2, or an eps other than the one given."""
    for eps in (1e-1, 1e-2, 1e-3):
        V = int(rng.integers(3, 7))
        a, b, c = rng.standard_normal((3, V, 1))
        f = lambda z: float(np.sum(a * np.sin(2 * z)) + np.sum(b * z) ** 3 + np.exp(np.sum(c * z) / V))  # noqa: E731
        y, d = rng.standard_normal((V, 1)), rng.standard_normal((V, 1))
        got = call(fn, f, y.copy(), d.copy(), eps, what="slope")
        try:
            got = float(np.asarray(got, dtype=float))
        except (TypeError, ValueError):
            raise WrongAnswer(f"slope should return one number, got {type(got).__name__}") from None
        want = (f(y + eps * d) - f(y - eps * d)) / (2 * eps)
        if not core.norm_rel_error(got, want) < 1e-9:
            signatures = [((f(y + eps * d) - f(y)) / eps, "a one-sided difference (f(y + eps d) - f(y)) / eps: "
                                                          "use the centred one, f(y + eps d) - f(y - eps d)"),
                          (2 * want, "the 2 is missing: divide by 2 eps, the distance between y - eps d and y + eps d"),
                          (eps * want, "the /eps is missing: divide by 2 eps, not by 2"),
                          (2 * eps * want, "no division: divide f(y + eps d) - f(y - eps d) by 2 eps"),
                          *[((f(y + e * d) - f(y - e * d)) / (2 * e), f"eps = {e:g} is used, not the eps given ({eps:g})")
                            for e in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6) if e != eps]]
            mistake = next((m for w, m in signatures if core.norm_rel_error(got, w) < 1e-9), None)
            raise WrongAnswer(f"slope: {got:.8g}, expected {want:.8g} for a function you have not seen "
                              f"(eps = {eps:g})" + (f"\n  likely mistake: {mistake}" if mistake else ""))

# ------------------------------------------------------------------ gradient checking (notebook 05)


def sampled_check(params, inputs, targets, hprev, seed, h=1e-5, grad_fn=None, num_checks: int = 10) -> dict:
    """The core's ``grad_check`` on ``num_checks`` entries per parameter drawn from
    ``np.random.default_rng(seed)`` (so the same entries for the same seed and shapes), with
    ``hprev`` cast to the parameters' dtype: a float32 model is checked in float32 (notebook 05)."""
    hprev = np.asarray(hprev).astype(params["Whh"].dtype)
    return core.grad_check(params, inputs, targets, hprev, num_checks=num_checks,
                           rng=np.random.default_rng(seed), h=h, grad_fn=grad_fn)


def scaled_gradient(grad_fn, factor, names=None):
    """A grad_fn like ``grad_fn`` whose gradients (those in ``names``, default all) are ``factor``
    times the right ones: a mistake of known size (notebook 05). The loss is unchanged."""

    def scaled(*args):
        loss, grads, *rest = grad_fn(*args)
        grads = {k: g * np.asarray(factor, dtype=g.dtype) if names is None or k in names else g
                 for k, g in grads.items()}
        return (loss, grads, *rest)

    return scaled


def bug_pattern(per_parameter: dict, conditions: dict, fail: float = 1e-3) -> tuple:
    """A check's result as yes/no answers (notebook 05): which parameters score above ``fail``,
    which conditions do, and whether every parameter scores one common value below 0.99 (one
    common factor; a score of 1 is a sign flip or a zero)."""
    errs = list(per_parameter.values())
    common_factor = max(errs) - min(errs) < 1e-6 * max(errs) and max(errs) < 0.99
    return tuple(v > fail for v in errs) + tuple(v > fail for v in conditions.values()) + (common_factor,)


def grade_centered_gradient(fn, rng, trials: int = 2) -> None:
    """Grade ``fn(f, x, delta)``: the centred difference of ``f()`` for every entry of x, x nudged
    in place and put back, two calls of f per entry (notebook 05). On ``trials`` random models
    (V = 4, H = 3, T = 5), for every parameter, against the core's ``numerical_gradient`` and
    against backprop, norm-wise at ``core.GRAD_CHECK_TOL``. A WrongAnswer names x not put back,
    a one-sided difference, the missing 2 and the flipped sign."""
    for trial in range(1, trials + 1):
        p = core.init_params(4, 3, rng, scale=0.5)
        x, y, h0 = rng.integers(4, size=5), rng.integers(4, size=5), np.tanh(rng.standard_normal((3, 1)))
        loss_fn = lambda: core.forward(p, x, y, h0)[0]  # noqa: E731
        backprop = core.loss_and_grads(p, x, y, h0)[1]
        for name in core.PARAM_NAMES:
            before, f, n = p[name].copy(), counted(loss_fn), p[name].size
            got = call(fn, f, p[name], 1e-5, what="centered_gradient")
            if not np.array_equal(p[name], before):
                raise WrongAnswer(f"d{name}: the entries of x were not put back exactly")
            if f.calls != 2 * n:
                raise WrongAnswer(f"d{name}: {f.calls} calls of f for {n} entries" + (
                    " is the one-sided difference; centered needs f(x - delta) too" if f.calls == n + 1 else
                    "; the centered difference needs 2 per entry"))
            numeric = core.numerical_gradient(loss_fn, p[name])
            compare(f"d{name}", got, numeric, tol=math.inf)             # shape and finiteness
            for want, mistake in (
                    (2 * numeric, "exactly twice the slope: divide by 2 * delta, from x - delta to x + delta"),
                    (-numeric, "the sign is flipped (a relative error of 1 is the sign flip's score): "
                               "f(x + delta) - f(x - delta), not f(x - delta) - f(x + delta)")):
                if core.norm_rel_error(np.asarray(got, dtype=float), want) < core.GRAD_CHECK_TOL:
                    raise WrongAnswer(f"d{name}: {mistake}")
            compare_normwise(f"d{name} (trial {trial})", got, numeric)
            compare_normwise(f"d{name} (trial {trial}) against backprop", got, backprop[name])


def grade_mystery_bug(answer, bugs, mystery, buggy, V: int, rng) -> None:
    """Grade the name of the bug in ``mystery(p, x, y, h0)`` (notebook 05): ``buggy(p, x, y, h0,
    bug=answer)`` must give the very same gradients on a fresh random model (V characters, H = 5,
    T = 9), independently of the notebook's tables; ``bugs[0]`` names the correct version. A
    WrongAnswer says which parameters the mystery and the answer get wrong and what tells them apart."""
    if answer not in bugs[1:]:
        raise WrongAnswer(f"answer must be one of {tuple(bugs[1:])}, got {answer!r}")
    p = core.init_params(V, 5, rng, scale=0.7)
    x, y, h0 = rng.integers(V, size=9), rng.integers(V, size=9), rng.standard_normal((5, 1))
    right, got, named = (fn(p, x, y, h0)[1] for fn in (
        lambda *a: buggy(*a, bug=bugs[0]), mystery, lambda *a: buggy(*a, bug=answer)))
    if all(np.allclose(got[k], named[k]) for k in core.PARAM_NAMES):
        return
    wrong_in = lambda g: [k for k in core.PARAM_NAMES if not np.allclose(g[k], right[k])]  # noqa: E731
    factor = lambda g: next((c for c in (-1.0, 0.5, 2.0) if all(  # noqa: E731
        np.allclose(g[k], c * right[k]) for k in core.PARAM_NAMES)), None)
    hint = "compare the two patterns in check_bug(...) and fingerprint(...)"
    if wrong_in(got) == wrong_in(named):
        hint = "the same parameters fail: compare the T = 1 and symmetric-Whh columns of fingerprint(...)"
    elif factor(got) is not None:
        c = factor(got)
        hint = (f"every gradient of the mystery is {c:g} times the right one, so every parameter "
                f"scores the same {abs(1 - c) / (1 + abs(c)):.3g}: one common factor")
    elif factor(named) is not None:
        c = factor(named)
        hint = (f"{answer!r} makes every gradient {c:g} times the right one, so every parameter would "
                f"score the same {abs(1 - c) / (1 + abs(c)):.3g}; the mystery's scores differ")
    raise WrongAnswer(f"not {answer!r}: the mystery gets {wrong_in(got)} wrong, {answer!r} gets "
                      f"{wrong_in(named)} wrong; {hint}")


def grade_factor_score(answer, factor: float = 3) -> None:
    """Grade |a - b| / (|a| + |b|) for a gradient ``factor`` times too big (a = factor * b), worked
    out by hand (notebook 05). A WrongAnswer names another denominator, a sign flip's score
    and the score of a factor 2 (the table's half_gradient and 1/3)."""
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        raise WrongAnswer(f"give one number, not {type(answer).__name__}") from None
    c = float(factor)
    mistakes = {abs(1 - c): "|a - b| / |b|; the denominator is |a| + |b|",
                abs(1 - c) / c: "|a - b| / |a|; the denominator is |a| + |b|",
                1.0: "the score of a sign flip (a = -b), not of a factor",
                1 / 3: f"the score of a factor 2, |1 - 2| / (1 + 2) (half_gradient's); here a = {c:g} b"}
    expected = abs(1 - c) / (1 + c)
    for wrong, mistake in mistakes.items():
        if not math.isclose(wrong, expected) and math.isclose(answer, wrong, rel_tol=1e-6):
            raise WrongAnswer(f"{answer:g} is {mistake}")
    if not math.isclose(answer, expected, rel_tol=1e-6):
        raise WrongAnswer(f"{answer:g} is not |a - b| / (|a| + |b|) for a = {c:g} b")


def check_generate_00(params, untrained, vocab, seed):
    """Notebook 00, exercise 1: ``check(answer)`` for 200 characters after "Juliet." at temperature 0.5
    from ``params`` with ``np.random.default_rng(seed + 7)``, the prime included.

    The reference is computed here, so the notebook's check cell does not show the answer;
    a wrong answer is matched against the usual slips (untrained weights, temperature, seed,
    prime left out, a generator already used by an earlier call)."""
    prime, n = "Juliet.", 200

    def run(p=params, rng_seed=seed + 7, temperature=0.5, used=0):
        rng = np.random.default_rng(rng_seed)
        for _ in range(used + 1):
            text = core.generate(p, vocab, prime, n, rng, temperature=temperature)
        return text

    @exercise("Exercise 1")
    def check(answer):
        assert isinstance(answer, str), f"answer_1 should be the text (a str), got {type(answer).__name__}"
        expected = run()
        if answer == expected:
            return None
        slips = {"the prime is missing: keep the whole text, prime included": expected[len(prime):],
                 "that is the untrained model: use params_after": run(p=untrained),
                 "that is a second text from the same generator: its first call had used up part of its "
                 "random numbers; make a fresh np.random.default_rng(SEED + 7) for the answer": run(used=1)}
        slips.update({f"that is temperature {t}, not 0.5": run(temperature=t) for t in (0.3, 0.8, 1.0)})
        slips.update({f"that is np.random.default_rng({s}), not SEED + 7": run(rng_seed=s)
                      for s in (seed, seed + 1, 7) if s != seed + 7})
        for slip, text in slips.items():
            assert answer != text, slip
        assert answer.startswith(prime), f"start with the prime {prime!r}"
        assert len(answer) == len(prime) + n, f"{len(answer)} characters, expected {len(prime)} + {n}"
        raise AssertionError("right length, different text: use params_after, np.random.default_rng(SEED + 7) "
                             "and temperature 0.5")

    return check


def check_uniform_loss_00(text, vocab, T=25):
    """Notebook 00, exercise 2: ``check(answer)`` for the loss of one window of T predictions under
    the uniform model, computed by ``core.forward`` with all weights zero (every prediction 1/V),
    not by the formula; names the slips (one character, bits, log10, T - 1 or T + 1 predictions, sign)."""
    zero = {k: np.zeros(shape) for k, shape in core.param_shapes(vocab.size, 8).items()}
    ids = vocab.encode(text[1000:1000 + T + 1])
    expected, _ = core.forward(zero, ids[:-1], ids[1:], np.zeros((8, 1)))

    @exercise("Exercise 2")
    def check(answer):
        answer = float(answer)
        slips = {expected / T: f"that is the loss of one character; a window has {T} predictions",
                 expected / math.log(2): "that is in bits (log base 2); nats use the natural logarithm",
                 expected / math.log(10): "that is log base 10; nats use the natural logarithm",
                 expected * (T + 1) / T: f"a window of {T} characters has {T} predictions, not {T + 1}",
                 expected * (T - 1) / T: f"off by one: a window of {T} characters has {T} predictions, not {T - 1}",
                 -expected: "a loss is -ln p, so it is positive"}
        for value, slip in slips.items():
            assert not math.isclose(answer, value, rel_tol=1e-3), slip
        assert math.isclose(answer, expected, rel_tol=5e-4), f"{answer} is not the uniform model's loss (to 4 digits)"
        return f"{answer:.4f} nats per window"

    return check


# ------------------------------------------------------------------------------ data


def _find_root() -> Path:
    """The folder that holds data/ and checkpoints/: the one above this file (notebooks/, or
    student/ inside the repository), else the one holding charrnn_core (a student edition
    handed out on its own ships the core, data/ and checkpoints/ beside the notebooks)."""
    above = Path(__file__).resolve().parents[1]
    for root in (above, Path(core.__file__).resolve().parent):
        if (root / "data" / "shakespeare.txt").is_file():
            return root
    return above


ROOT = _find_root()
CORPUS = ROOT / "data" / "shakespeare.txt"
CHECKPOINT = ROOT / "checkpoints" / "shakespeare-h100.safetensors"   # the shipped RNN, H = 100


def load_corpus():
    """The bundled Shakespeare: (text, vocab over the whole text)."""
    text = charrnn_io.load_text(CORPUS)
    return text, core.Vocab.from_text(text)


def load_pretrained():
    """The shipped checkpoint (trained on the first 90 % of the corpus): (params, vocab, meta)."""
    return charrnn_io.load_checkpoint(CHECKPOINT)


def held_out_text(text: str) -> str:
    """The last 10 % of the corpus: text the shipped checkpoint never trained on."""
    return core.split_text(text, 0.9)[1]

def set_order_in_fresh_python(path, hash_seed: int) -> list:
    """``list(set(text))`` for the text of ``path``, as a new Python process started with
    ``PYTHONHASHSEED=hash_seed`` computes it (notebook 01: a set's order follows the hash salt)."""
    import json, os, subprocess, sys  # noqa: E401 - only this helper needs them
    child = "import json, sys; print(json.dumps(list(set(open(sys.argv[1], encoding='utf-8').read()))))"
    env = dict(os.environ, PYTHONHASHSEED=str(int(hash_seed)))
    out = subprocess.run([sys.executable, "-c", child, str(path)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)

# --------------------------------------------------------------------------- numbers


def moving_average(x, n: int = 25) -> np.ndarray:
    """Mean of each run of n consecutive values: (len(x) - n + 1,)."""
    return np.convolve(np.asarray(x, dtype=float), np.ones(n) / n, mode="valid")

def spectral_radius(W) -> float:
    """Largest |eigenvalue| of a square matrix W (H, H)."""
    return float(np.max(np.abs(np.linalg.eigvals(W))))

def sigma_max(W) -> float:
    """Largest singular value of W (H, H): the most W can stretch a vector, ||W v|| <= sigma_max ||v||."""
    return float(np.linalg.norm(np.asarray(W, dtype=float), 2))

def perplexity(nats_per_char: float) -> float:
    """exp(loss per character): the number of equally likely characters it amounts to."""
    return math.exp(nats_per_char)

def per_call_seconds(f, number: int = 2000, repeat: int = 7) -> float:
    """Seconds per call of f(): the best of ``repeat`` timings of ``number`` calls each (the
    least disturbed by whatever else the machine is doing). Machine-dependent (notebook 01)."""
    import timeit
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number

def counted(f):
    """f with a call counter: ``g = counted(f)``, then ``g.calls`` is how often g ran."""

    @functools.wraps(f)
    def g(*args, **kwargs):
        g.calls += 1
        return f(*args, **kwargs)

    g.calls = 0
    return g

def flat(grads: dict, names=core.PARAM_NAMES) -> np.ndarray:
    """Every entry of every gradient in one vector (n,), in ``names`` order."""
    return np.concatenate([np.asarray(grads[k], dtype=float).ravel() for k in names])

def cosine(a, b) -> float:
    """cos of the angle between two vectors of the same shape: a.b / (|a| |b|)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(a @ b / math.sqrt(float(a @ a) * float(b @ b)))

def clipping_curves(G, thresholds) -> dict:
    """For a flat gradient G (n,): cosine with G after elementwise and after global-norm
    clipping at each threshold (the core's ``clip_elementwise`` and ``clip_global_norm``),
    and the fraction of entries elementwise clipping cuts."""
    G = np.asarray(G, dtype=float)
    return {"elementwise": np.array([cosine(G, _clip(G, c, "elementwise")) for c in thresholds]),
            "global": np.array([cosine(G, _clip(G, c, "global")) for c in thresholds]),
            "cut": np.array([np.mean(np.abs(G) > c) for c in thresholds])}


def _clip(G, threshold, mode):
    """A flat gradient G (n,) clipped by the core, which takes a dict of arrays: ``{"g": G}``."""
    if mode == "elementwise":
        return core.clip_elementwise({"g": G}, threshold)["g"]
    return core.clip_global_norm({"g": G}, threshold)[0]["g"]


def error_table(rows: dict, names=core.PARAM_NAMES) -> str:
    """Text table of per-parameter errors: rows {label: {name: error}}, one column per name."""
    width = max(len(label) for label in rows) + 2
    lines = [" " * width + "".join(f"{k:>9s}" for k in names) + "      max"]
    for label, errs in rows.items():
        lines.append(f"{label:{width}s}" + "".join(f"{errs[k]:9.0e}" for k in names)
                     + f"{max(errs[k] for k in names):9.0e}")
    return "\n".join(lines)

# --------------------------------------------------------------------------- figures


def style() -> None:
    """The series' plot style: small figures at a screen-friendly resolution."""
    plt.rcParams.update({"figure.dpi": 80, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": True, "grid.alpha": 0.3, "legend.fontsize": 8})

def show_matrix(ax, M, title, xlabels=None, ylabels=None, highlight_col=None, vmax=None,
                binary=False, fmt="{:g}"):
    """Heatmap of a small matrix M (R, C) with each value written in its cell.

    Real numbers: red positive, blue negative (symmetric colour scale up to vmax);
    binary=True: white 0, black 1 (a one-hot vector). highlight_col outlines one column.
    """
    M = np.asarray(M)
    vmax = vmax if vmax is not None else (np.abs(M).max() or 1.0)
    if binary:
        ax.imshow(M, cmap="Greys", vmin=0, vmax=1, aspect="equal")
    else:
        ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="equal")
    for (r, c), v in np.ndenumerate(M):
        dark = abs(v) > 0.6 * vmax
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(M.shape[1]), xlabels if xlabels is not None else range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]), ylabels if ylabels is not None else range(M.shape[0]))
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    if highlight_col is not None:
        ax.add_patch(plt.Rectangle((highlight_col - 0.5, -0.5), 1, M.shape[0], fill=False, lw=3, ec="k"))

def draw_unrolled_rnn(T_show: int = 4, focus: int = 1):
    """The RNN unrolled over T_show steps: boxes x_t, h_t, y_t; the two arrows leaving h_focus in red.

    Returns the figure (call plt.show() to display it).
    """
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 4.8))
    col = {t: 3.0 * (t + 1) for t in range(-1, T_show)}        # x position of step t
    row = {"x": 0.0, "h": 1.7, "y": 3.4}                        # y position of each kind of box
    w, hgt = 0.9, 0.6

    def box(x, y, label, face):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - hgt / 2), w, hgt, boxstyle="round,pad=0.04",
                                    fc=face, ec="black", lw=1))
        ax.text(x, y, label, ha="center", va="center", fontsize=13)

    def arrow(start, end, label, label_xy, hot=False):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle="-|>", lw=3.2 if hot else 1.3,
                                    color="crimson" if hot else "dimgray", mutation_scale=16))
        ax.text(*label_xy, label, fontsize=11, color="crimson" if hot else "black", ha="center", va="center")

    box(col[-1], row["h"], "$h_{-1}$", "whitesmoke")
    ax.text(col[-1], row["h"] - 0.6, "hprev", ha="center", fontsize=10, color="dimgray")
    for t in range(T_show):
        x = col[t]
        box(x, row["x"], f"$x_{t}$", "#dbe9f6")
        box(x, row["h"], f"$h_{t}$", "#fde2c8" if t == focus else "#fff4e6")
        box(x, row["y"], f"$y_{t}$", "#e2f0d9")
        ax.text(x, row["y"] + 0.62, f"$L_{t}$", ha="center", fontsize=12)
        ax.annotate("", xy=(x, row["y"] + 0.47), xytext=(x, row["y"] + hgt / 2),
                    arrowprops=dict(arrowstyle="-|>", color="gray"))
        arrow((x, row["x"] + hgt / 2), (x, row["h"] - hgt / 2), "$W_{xh}$", (x + 0.42, (row["x"] + row["h"]) / 2))
        arrow((x, row["h"] + hgt / 2), (x, row["y"] - hgt / 2), "$W_{hy}$",
              (x + 0.42, (row["h"] + row["y"]) / 2), hot=(t == focus))
        arrow((col[t - 1] + w / 2, row["h"]), (x - w / 2, row["h"]), "$W_{hh}$",
              ((col[t - 1] + x) / 2, row["h"] + 0.25), hot=(t - 1 == focus))
    xf = col[focus]
    ax.text(xf - 1.2, (row["h"] + row["y"]) / 2, "① through $y_%d$\nto $L_%d$" % (focus, focus),
            color="crimson", fontsize=11, ha="center", va="center")
    ax.text((xf + col[focus + 1]) / 2, row["h"] - 0.7,
            "② through $h_%d$\nto $L_%d, L_%d, \\ldots$" % (focus + 1, focus + 1, focus + 2),
            color="crimson", fontsize=11, ha="center", va="center")
    ax.text(col[T_show - 1] + 0.9, row["y"] + 0.62, "$L = L_0 + L_1 + \\cdots$", fontsize=12, va="center")
    ax.set_xlim(col[-1] - 0.8, col[T_show - 1] + 2.6)
    ax.set_ylim(-0.6, 4.3)
    ax.axis("off")
    ax.set_title(f"The RNN unrolled over {T_show} steps (the same $W_{{xh}}, W_{{hh}}, W_{{hy}}$ at every step)."
                 f"  $h_{focus}$ reaches the loss along two paths.")
    fig.tight_layout()
    return fig

def error_heatmap(ax, rows, cols, values, title, passmark=core.GRAD_CHECK_TOL, fail=1e-3):
    """values[i][j]: a relative error; each cell coloured pass (< passmark) / look closer / fail (> fail)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(["#4daf4a", "#ffb347", "#e41a1c"])
    norm = BoundaryNorm([-20, math.log10(passmark), math.log10(fail), 1], cmap.N)
    v = np.array(values, dtype=float)
    ax.imshow(np.log10(np.maximum(v, 1e-20)), cmap=cmap, norm=norm, aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            ax.text(j, i, f"{v[i, j]:.0e}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_title(title, fontsize=10)
    ax.grid(False)

def plot_clipping(G, threshold, thresholds, curves, show):
    """Two panels for notebook 06's slider: entries after vs before clipping at ``threshold``
    (the entries ``show`` of G), and the ``curves`` of ``clipping_curves`` against threshold."""
    G = np.asarray(G, dtype=float)
    elem, glob = _clip(G, threshold, "elementwise"), _clip(G, threshold, "global")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.3))
    ax1.plot(G[show], elem[show], ".", ms=2, color="C1", label="elementwise")
    ax1.plot(G[show], glob[show], ".", ms=2, color="C0", label="global norm")
    ax1.plot(G[show], G[show], color="grey", lw=0.5, label="unclipped")
    ax1.set_xlabel("gradient entry before clipping")
    ax1.set_ylabel("after clipping")
    ax1.set_title(f"threshold {threshold:.3g}: {np.mean(np.abs(G) > threshold):.1%} of entries cut",
                  fontsize=10)
    ax1.legend(fontsize=8, markerscale=4)
    ax2.semilogx(thresholds, curves["elementwise"], color="C1", label="cosine, elementwise")
    ax2.semilogx(thresholds, curves["global"], color="C0", ls="--", label="cosine, global norm")
    ax2.semilogx(thresholds, curves["cut"], color="C2", label="fraction of entries cut (elementwise)")
    ax2.axvline(threshold, color="k", lw=0.8)
    ax2.set_xlabel("threshold")
    ax2.set_ylabel("cosine with the unclipped gradient / fraction")
    ax2.set_ylim(-0.02, 1.05)
    ax2.set_title(f"cosine: elementwise {cosine(G, elem):.3f}, global {cosine(G, glob):.3f}",
                  fontsize=10)
    ax2.legend(fontsize=8, loc="center right")
    plt.tight_layout()
    plt.show()

def draw_backward_step(part1, part2, t, chars=None):
    """Notebook 04's slider: the backward loop at iteration ``t`` on the unrolled chain.

    part1[s], part2[s]: the norms of the two parts of dL/dh_s, (1) Why.T @ dy_s from y_s and
    (2) dhnext from h_{s+1} (T,) each. Top: the chain h_0 .. h_{T-1}, the steps the loop has
    done (s > t) filled, step t with its two incoming arrows and their norms. Bottom: both
    norms for every step done so far (hatched: part 2). ``chars``: input characters, as labels.
    Returns the figure.
    """
    from matplotlib.patches import FancyBboxPatch

    part1, part2 = np.asarray(part1, dtype=float), np.asarray(part2, dtype=float)
    T = part1.size
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.6), gridspec_kw={"height_ratios": [1.15, 1]})
    for s in range(T):
        done, now = s > t, s == t
        for y, label in ((0.0, f"$h_{{{s}}}$"), (1.6, f"$y_{{{s}}}$")):
            top.add_patch(FancyBboxPatch((s - 0.3, y - 0.25), 0.6, 0.5, boxstyle="round,pad=0.03",
                                         fc="#fde2c8" if now else ("#e8e8e8" if done else "white"),
                                         ec="black", lw=2.2 if now else 0.8, ls="-" if done or now else ":"))
            top.text(s, y, label, ha="center", va="center", fontsize=10)
        if chars is not None:
            top.text(s, -0.55, repr(chars[s]), ha="center", va="top", fontsize=9, color="dimgray")
        if s + 1 < T:
            top.annotate("", xy=(s + 0.7, 0), xytext=(s + 0.3, 0), arrowprops=dict(arrowstyle="-|>", color="gray"))
    top.annotate("", xy=(t, 0.27), xytext=(t, 1.33),
                 arrowprops=dict(arrowstyle="-|>", lw=3, color="#0072B2"))          # (1) down from y_t
    top.text(t + 0.08, 0.8, f"① {part1[t]:.3f}", color="#0072B2", fontsize=10, ha="left", va="center")
    if t + 1 < T:
        top.annotate("", xy=(t + 0.32, -0.08), xytext=(t + 0.68, -0.08),
                     arrowprops=dict(arrowstyle="-|>", lw=3, color="#D55E00", ls="--"))  # (2) back from h_{t+1}
        top.text(t + 0.5, -0.9, f"② {part2[t]:.3f}", color="#D55E00", fontsize=10, ha="center", va="top")
    top.set_xlim(-0.6, T - 0.4)
    top.set_ylim(-1.35, 2.0)
    top.axis("off")
    share = f"② is {part2[t] / part1[t]:.0%} of ①" if part1[t] > 0 else ""
    top.set_title(f"backward loop, iteration t = {t}: dh_{t} = ① Why.T dy_{t} + ② dhnext  "
                  f"(norms; {share})", fontsize=10)
    steps = np.arange(T)
    shown = steps >= t
    bottom.bar(steps[shown] - 0.2, part1[shown], width=0.4, color="#0072B2", label="① ‖Why.T dy_t‖, from y_t")
    bottom.bar(steps[shown] + 0.2, part2[shown], width=0.4, color="#D55E00", hatch="//", edgecolor="white",
               label="② ‖dhnext‖, from h_t+1")
    bottom.axvspan(t - 0.5, t + 0.5, color="#fde2c8", alpha=0.6, zorder=0)
    bottom.set_xlim(-0.6, T - 0.4)
    bottom.set_ylim(0, 1.25 * max(part1.max(), part2.max()))
    bottom.set_xticks(steps)
    bottom.set_xlabel("time step t (the loop runs from the right to the left)")
    bottom.set_ylabel("norm of the part")
    bottom.legend(loc="upper left", ncol=2)
    fig.tight_layout()
    return fig

# ------------------------------------------------------------------- the recall task
#
# Notebook 07 trains a vanilla RNN on it, notebook 10 gives an LSTM the same test
# (experiments/recall_sweep.py sweeps both). Alphabet "abc.?": a sequence is one symbol
# a/b/c, then k filler dots, then a "?"; the target is a dot at every step except the
# last, where it is the first symbol. Only the last step needs a memory, and the only
# input that helps it lies k + 1 steps back.

RECALL_VOCAB = core.Vocab.from_text("abc.?")
RECALL_SYMBOLS = RECALL_VOCAB.encode("abc")          # ids of the symbols to remember
RECALL_FILL, RECALL_ASK = (int(i) for i in RECALL_VOCAB.encode(".?"))
RECALL_CHANCE = 1 / len(RECALL_SYMBOLS)             # accuracy of a guess: 1/3
# The training budget every model gets on the task, whatever its architecture:
# fresh batches of `batch_size` sequences, `num_updates` Adagrad updates at
# `learning_rate`, gradients averaged over the batch and clipped to global norm `clip`.
RECALL_BUDGET = dict(hidden_size=16, batch_size=32, num_updates=500, learning_rate=0.05, clip=5.0)
RECALL_EVAL_SEQUENCES = 600                          # fresh sequences per accuracy measurement


def recall_batch(k: int, batch_size: int, rng: np.random.Generator):
    """``batch_size`` recall sequences with ``k`` fillers: (inputs, targets), int arrays (k + 2, B).

    Column b is one sequence: inputs ``s . . . ?`` and targets ``. . . . s`` with s drawn
    uniformly from a/b/c by ``rng`` (ids of ``RECALL_VOCAB``).
    """
    if not (isinstance(k, (int, np.integer)) and k >= 0):
        raise ValueError(f"k (number of fillers) must be an int >= 0, got {k!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    first = rng.choice(RECALL_SYMBOLS, size=batch_size)
    inputs = np.full((k + 2, batch_size), RECALL_FILL)
    inputs[0], inputs[-1] = first, RECALL_ASK
    targets = np.full((k + 2, batch_size), RECALL_FILL)
    targets[-1] = first
    return inputs, targets

def last_logits(params: dict, inputs) -> np.ndarray:
    """The logits at the last step of each sequence: inputs (T, B) -> (V, B).

    params: a vanilla RNN's or an LSTM's; the cell's own step (``core.CELLS``) runs
    every sequence from a zero state (``core.zero_state``).
    """
    cell = core.CELLS[core.cell_of(params)]
    core.check_params(params)
    state = core.zero_state(params, np.shape(inputs)[1])
    for x_t in np.asarray(inputs):
        state = cell.step(params, x_t, state)
    return params["Why"] @ state[0] + params["by"]


def recall_accuracy(model, k: int, rng: np.random.Generator, n: int = RECALL_EVAL_SEQUENCES) -> float:
    """Share of n fresh recall sequences (k fillers) whose most likely character at the "?"
    is the symbol from the start.

    model: a params dict (vanilla RNN or LSTM), or any callable ``inputs (T, B) -> logits
    (V, B)`` at the last step. The sequences come from ``recall_batch(k, n, rng)``.
    A model that guesses scores about ``RECALL_CHANCE``.
    """
    inputs, targets = recall_batch(k, n, rng)
    logits = model(inputs) if callable(model) else last_logits(model, inputs)
    logits = np.asarray(logits)
    if logits.shape != (RECALL_VOCAB.size, n):
        raise ValueError(f"model must return logits of shape ({RECALL_VOCAB.size}, {n}), got {logits.shape}")
    return float(np.mean(np.argmax(logits, axis=0) == targets[-1]))

def train_recall(k: int, cell: str = "rnn", seed: int = 0,
                 hidden_size: int = RECALL_BUDGET["hidden_size"],
                 iters: int = RECALL_BUDGET["num_updates"],
                 batch_size: int = RECALL_BUDGET["batch_size"],
                 learning_rate: float = RECALL_BUDGET["learning_rate"],
                 init: dict | None = None, callback=None, return_optimizer: bool = False):
    """A model of ``cell`` ("rnn" or "lstm") trained on the recall task with k fillers.

    The budget of ``RECALL_BUDGET``: ``iters`` updates, each on a fresh ``recall_batch``
    of ``batch_size`` sequences from zero states, with the gradients averaged over the
    batch, clipped to global norm ``RECALL_BUDGET["clip"]`` and given to ``core.Adagrad``.
    The cell's initialiser (``core.CELLS[cell].init_params``: the gist's 0.01 * N(0, 1),
    for the LSTM with forget bias 1) and the batches draw from one generator,
    ``np.random.default_rng([seed, k])``.

    init: {name: array} to put in place of those initial parameters, e.g.
    ``{"Whh": np.eye(H)}`` for notebook 07's identity start. They replace the drawn ones
    after the draw (so the batches are the same as without ``init``), and are copied.
    ``callback(iteration, params)`` runs after every update.
    Returns the trained params, or with ``return_optimizer`` the ``core.Adagrad`` that
    trained them (``.params`` the weights, ``.mem`` its memory of squared gradients).
    """
    if cell not in core.CELLS:
        raise ValueError(f"cell must be one of {list(core.CELLS)}, got {cell!r}")
    model = core.CELLS[cell]
    rng = np.random.default_rng([seed, k])
    params = model.init_params(RECALL_VOCAB.size, hidden_size, rng)
    for name, value in (init or {}).items():
        if name not in params or np.shape(value) != params[name].shape:
            raise ValueError(f"init[{name!r}] must be one of the {cell} parameters {list(params)} "
                             f"with its shape, got shape {np.shape(value)}")
        params[name] = np.array(value, dtype=params[name].dtype)      # a copy: Adagrad updates it in place
    opt = core.Adagrad(params, learning_rate)
    start = core.zero_state(params, batch_size)      # every sequence starts from zero (only read)
    for it in range(iters):
        x, y = recall_batch(k, batch_size, rng)
        _, grads, *_ = model.loss_and_grads_batch(params, x, y, *start)
        grads, _ = core.clip_global_norm({n: g / batch_size for n, g in grads.items()},
                                         RECALL_BUDGET["clip"])
        opt.step(grads)
        if callback is not None:
            callback(it, params)
    return opt if return_optimizer else params


def recall_answers(params, k: int, rng: np.random.Generator, n: int = RECALL_EVAL_SEQUENCES) -> np.ndarray:
    """What the model answers at the "?" for each symbol, on ``recall_batch(k, n, rng)``.

    Returns counts (3, V): row s is the true symbol a, b, c; column j counts the sequences where
    the most likely character at the "?" was character j of ``RECALL_VOCAB``. Given a
    generator in the same state, its diagonal over the symbols' columns, summed and divided
    by n, is ``recall_accuracy``.
    """
    inputs, targets = recall_batch(k, n, rng)
    guess = np.argmax(last_logits(params, inputs), axis=0)
    counts = np.zeros((len(RECALL_SYMBOLS), RECALL_VOCAB.size), dtype=int)
    for row, symbol in enumerate(RECALL_SYMBOLS):
        counts[row] = np.bincount(guess[targets[-1] == symbol], minlength=RECALL_VOCAB.size)
    return counts
