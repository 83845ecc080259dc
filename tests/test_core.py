"""Unit tests of charrnn_core: each checks the core against something independent
(finite differences, arithmetic done by hand, an identity), never against itself."""

import hashlib
import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import charrnn_core as core
from conftest import TINY, centered_differences, normwise_error, random_case, subprocess_env

NAMES = core.PARAM_NAMES


def batch_col(seq):
    """A (T,) sequence as a (T, 1) batch."""
    return np.asarray(seq)[:, None]


# ------------------------------------------------------------------ one-hot, softmax


def test_multiplying_by_one_hot_selects_a_column():
    rng = np.random.default_rng(0)
    V = 7
    Wxh = rng.standard_normal((5, V))
    for i in range(V):
        x = core.one_hot(i, V)
        assert x.shape == (V, 1) and x.sum() == 1 and x[i, 0] == 1
        np.testing.assert_array_equal(Wxh @ x, Wxh[:, [i]])


def test_softmax_of_huge_logits_is_finite_and_one_hot():
    p = core.softmax(np.array([[1000.0], [0.0]]))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1.0], [0.0]], atol=1e-300)


def test_softmax_columns_sum_to_one_and_match_the_definition():
    rng = np.random.default_rng(1)
    z = 3 * rng.standard_normal((6, 4))
    p = core.softmax(z)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-15, atol=1e-15)
    for b in range(4):
        e = [math.exp(v) for v in z[:, b]]
        np.testing.assert_allclose(p[:, b], [v / sum(e) for v in e], rtol=1e-13)


def test_softmax_is_shift_invariant():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3))
    np.testing.assert_allclose(core.softmax(z), core.softmax(z + 123.0), rtol=1e-12)
    np.testing.assert_allclose(core.softmax(z), core.softmax(z - np.array([[5.0, -7.0, 0.5]])),
                               rtol=1e-12)


# ------------------------------------------------------------ loss at initialisation


def test_initial_loss_is_about_T_log_V(tiny_text):
    vocab = core.Vocab.from_text(tiny_text)
    T = 25
    ids = vocab.encode(tiny_text[: T + 1])
    params = core.init_params(vocab.size, 32, np.random.default_rng(0), scale=0.01)
    loss, _, _ = core.loss_and_grads(params, ids[:-1], ids[1:], np.zeros((32, 1)))
    expected = T * math.log(vocab.size)
    assert abs(loss - expected) < 0.01 * expected
    lossb, _, _ = core.loss_and_grads_batch(params, batch_col(ids[:-1]), batch_col(ids[1:]),
                                            np.zeros((32, 1)))
    assert abs(lossb - expected) < 0.01 * expected


def test_init_params_shapes_scale_and_zero_biases():
    p = core.init_params(6, 4, np.random.default_rng(3), scale=0.01)
    assert {k: v.shape for k, v in p.items()} == core.param_shapes(6, 4)
    assert core.check_params(p) == (6, 4)
    assert not p["bh"].any() and not p["by"].any()
    assert 0.002 < np.std(np.concatenate([p["Wxh"].ravel(), p["Whh"].ravel(),
                                          p["Why"].ravel()])) < 0.02
    q = core.init_params(6, 4, np.random.default_rng(3), scale=0.01)
    assert all(np.array_equal(p[k], q[k]) for k in NAMES)


# ------------------------------------------------------ a tiny case done on paper


def hand_case():
    """V=2, H=1, T=2, inputs [0, 1], targets [1, 0], hprev = 0.4: the loss and every
    gradient worked out with scalar arithmetic (chain rule on paper)."""
    a0, a1 = 0.5, -0.3          # Wxh = [[a0, a1]]
    w = 0.8                     # Whh = [[w]]
    u0, u1 = 1.2, -0.7          # Why = [[u0], [u1]]
    b = 0.1                     # bh
    c0, c1 = 0.2, -0.1          # by
    hp = 0.4                    # hprev

    # forward, step 0: input 0, target 1
    h0 = math.tanh(a0 + w * hp + b)
    e00, e01 = math.exp(u0 * h0 + c0), math.exp(u1 * h0 + c1)
    p00, p01 = e00 / (e00 + e01), e01 / (e00 + e01)
    # step 1: input 1, target 0
    h1 = math.tanh(a1 + w * h0 + b)
    e10, e11 = math.exp(u0 * h1 + c0), math.exp(u1 * h1 + c1)
    p10, p11 = e10 / (e10 + e11), e11 / (e10 + e11)
    loss = -math.log(p01) - math.log(p10)

    # backward: dL/dy = p - onehot(target)
    dy00, dy01 = p00, p01 - 1.0
    dy10, dy11 = p10 - 1.0, p11
    dh1 = u0 * dy10 + u1 * dy11                 # h1 feeds only y1
    dz1 = (1 - h1 ** 2) * dh1
    dh0 = u0 * dy00 + u1 * dy01 + w * dz1       # h0 feeds y0 AND h1 (dhnext)
    dz0 = (1 - h0 ** 2) * dh0
    grads = {
        "Wxh": [[dz0, dz1]],
        "Whh": [[dz0 * hp + dz1 * h0]],
        "Why": [[dy00 * h0 + dy10 * h1], [dy01 * h0 + dy11 * h1]],
        "bh": [[dz0 + dz1]],
        "by": [[dy00 + dy10], [dy01 + dy11]],
    }
    params = {"Wxh": [[a0, a1]], "Whh": [[w]], "Why": [[u0], [u1]], "bh": [[b]], "by": [[c0], [c1]]}
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
    return params, [0, 1], [1, 0], np.array([[hp]]), loss, grads, h1


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
def test_loss_and_grads_match_a_case_computed_by_hand(batched):
    params, inputs, targets, hprev, loss, grads, h_last = hand_case()
    if batched:
        got_loss, got, got_h = core.loss_and_grads_batch(params, batch_col(inputs),
                                                         batch_col(targets), hprev)
    else:
        got_loss, got, got_h = core.loss_and_grads(params, np.array(inputs), np.array(targets),
                                                   hprev)
    assert got_loss == pytest.approx(loss, rel=1e-13)
    for k in NAMES:
        np.testing.assert_allclose(got[k], grads[k], rtol=1e-12, atol=1e-15, err_msg=k)
    np.testing.assert_allclose(got_h, [[h_last]], rtol=1e-14)


def test_forward_probabilities_and_hidden_states_match_the_hand_case():
    # every h_t and p_t recomputed here with scalar arithmetic, independently of the core
    params, inputs, targets, hprev, loss, _, h_last = hand_case()
    a, w, u, b, c = (params[k] for k in NAMES)
    h_prev, want_h, want_p = float(hprev[0, 0]), [], []
    for t, ix in enumerate(inputs):
        h = math.tanh(a[0, ix] + w[0, 0] * h_prev + b[0, 0])
        e = [math.exp(u[i, 0] * h + c[i, 0]) for i in range(2)]
        want_h.append(h)
        want_p.append([e[0] / sum(e), e[1] / sum(e)])
        h_prev = h
    got_loss, (_, _, hs, ps) = core.forward(params, inputs, targets, hprev)
    assert sorted(hs) == [-1, 0, 1] and sorted(ps) == [0, 1]
    np.testing.assert_array_equal(hs[-1], hprev)
    for t in range(2):
        assert hs[t].shape == (1, 1) and ps[t].shape == (2, 1)
        np.testing.assert_allclose(hs[t], [[want_h[t]]], rtol=1e-14)
        np.testing.assert_allclose(ps[t], np.array(want_p[t])[:, None], rtol=1e-13)
    assert want_h[1] == pytest.approx(h_last, rel=1e-14)
    assert got_loss == pytest.approx(loss, rel=1e-13)


# ------------------------------------------------------------- gradient checking


@pytest.mark.parametrize("seed", [1, 2, 8])
def test_every_gradient_entry_matches_finite_differences(seed):
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=seed)
    errors = core.grad_check(params, inputs, targets, hprev)
    assert set(errors) == set(NAMES)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("seed", [0, 4, 7])
def test_every_batched_gradient_entry_matches_finite_differences(seed):
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=seed, B=3)
    errors = core.grad_check(params, inputs, targets, hprev, grad_fn=core.loss_and_grads_batch)
    assert set(errors) == set(NAMES)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
def test_gradients_match_finite_differences_normwise_for_many_seeds(batched):
    fn = core.loss_and_grads_batch if batched else core.loss_and_grads
    for seed in range(10):
        params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=100 + seed,
                                                     B=2 if batched else None)
        _, grads, _ = fn(params, inputs, targets, hprev)
        for k in NAMES:
            num = centered_differences(lambda: fn(params, inputs, targets, hprev)[0], params[k])
            err = normwise_error(grads[k], num)
            assert err < 1e-8, f"seed {seed}, {k}: {err:.2e}"


def test_grad_check_flags_a_wrong_gradient():
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=5)

    def transposed_whh(p, i, t, h):
        loss, grads, h_last = core.loss_and_grads(p, i, t, h)
        grads["Whh"] = grads["Whh"].T.copy()
        return loss, grads, h_last

    errors = core.grad_check(params, inputs, targets, hprev, grad_fn=transposed_whh)
    assert errors["Whh"] > 1e-3
    assert errors["Wxh"] < 1e-6


def test_grad_check_with_sampled_entries_leaves_params_unchanged():
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=6)
    before = {k: v.copy() for k, v in params.items()}
    errors = core.grad_check(params, inputs, targets, hprev, num_checks=3,
                             rng=np.random.default_rng(0))
    assert max(errors.values()) < 1e-6
    assert all(np.array_equal(before[k], params[k]) for k in NAMES)


@pytest.mark.parametrize("seed", range(5))
def test_sampled_grad_check_of_wxh_draws_from_the_input_characters_columns(seed):
    # V = 40 but only 2 characters in the input: 38 of Wxh's 40 columns have gradient
    # exactly 0 in backprop and in finite differences. A uniform sample of 3 entries
    # would almost always land there and miss a wrong dWxh.
    params, _, targets, hprev = random_case(V=40, H=3, T=4, seed=seed)
    inputs = np.array([7, 31, 7, 31])

    def doubled_wxh(p, i, t, h):
        loss, grads, h_last = core.loss_and_grads(p, i, t, h)
        grads["Wxh"] = 2 * grads["Wxh"]
        return loss, grads, h_last

    errors = core.grad_check(params, inputs, targets, hprev, num_checks=3,
                             rng=np.random.default_rng(seed), grad_fn=doubled_wxh)
    assert errors["Wxh"] == pytest.approx(1 / 3, rel=1e-5)     # |1 - 2| / (1 + 2) on every entry
    assert max(errors[k] for k in NAMES if k != "Wxh") < 1e-6


def test_batch_of_one_equals_the_per_step_version():
    params, inputs, targets, hprev = random_case(V=5, H=4, T=7, seed=11)
    loss, grads, h = core.loss_and_grads(params, inputs, targets, hprev)
    lossb, gradsb, hb = core.loss_and_grads_batch(params, batch_col(inputs), batch_col(targets),
                                                  hprev)
    assert lossb == pytest.approx(loss, rel=1e-12)
    for k in NAMES:
        np.testing.assert_allclose(gradsb[k], grads[k], rtol=1e-12, atol=1e-15, err_msg=k)
    np.testing.assert_allclose(hb, h, rtol=1e-12, atol=1e-15)


def test_batch_of_three_is_the_sum_of_its_columns():
    params, inputs, targets, hprev = random_case(V=5, H=4, T=7, seed=12, B=3)
    lossb, gradsb, hb = core.loss_and_grads_batch(params, inputs, targets, hprev)
    total, sums = 0.0, {k: 0.0 for k in NAMES}
    for b in range(3):
        loss, grads, h = core.loss_and_grads(params, inputs[:, b], targets[:, b], hprev[:, b:b + 1])
        total += loss
        sums = {k: sums[k] + grads[k] for k in NAMES}
        np.testing.assert_allclose(hb[:, b:b + 1], h, rtol=1e-12, atol=1e-15)
    assert lossb == pytest.approx(total, rel=1e-12)
    for k in NAMES:
        np.testing.assert_allclose(gradsb[k], sums[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_loss_and_grads_do_not_modify_their_arguments():
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=13, B=2)
    copies = [{k: v.copy() for k, v in params.items()}, inputs.copy(), targets.copy(), hprev.copy()]
    core.loss_and_grads_batch(params, inputs, targets, hprev)
    core.loss_and_grads(params, inputs[:, 0], targets[:, 0], hprev[:, :1])
    assert all(np.array_equal(copies[0][k], params[k]) for k in NAMES)
    for a, b in zip(copies[1:], (inputs, targets, hprev)):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------- dhnext and dL/dh_t


def _step(params, ix, h):
    return np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h + params["bh"])


def _step_loss(params, h, target):
    y = params["Why"] @ h + params["by"]
    return float(-(y[target, 0] - y.max() - np.log(np.exp(y - y.max()).sum())))


def losses_from(params, h, t, inputs, targets):
    """Per-step losses of steps t .. T-1 when h_t is forced to h (plain NumPy, not the core)."""
    out = [_step_loss(params, h, targets[t])]
    for s in range(t + 1, len(inputs)):
        h = _step(params, inputs[s], h)
        out.append(_step_loss(params, h, targets[s]))
    return out


def test_dhnext_is_needed_for_correct_gradients():
    # The first input character never appears again, so dWxh[:, that column] can only
    # change with a later target if gradient flows back through dhnext.
    params, _, _, hprev = random_case(V=5, H=4, T=6, seed=21, scale=0.5)
    inputs = np.array([4, 0, 1, 2, 3, 1])
    targets = np.array([0, 1, 2, 3, 1, 2])
    other = targets.copy()
    other[-1] = 4
    for fn, shape in ((core.loss_and_grads, lambda a: a),
                      (core.loss_and_grads_batch, batch_col)):
        g1 = fn(params, shape(inputs), shape(targets), hprev)[1]
        g2 = fn(params, shape(inputs), shape(other), hprev)[1]
        assert np.abs(g1["Wxh"][:, 4] - g2["Wxh"][:, 4]).max() > 1e-3
        assert np.abs(g1["Whh"] - g2["Whh"]).max() > 1e-3


def test_backward_dhs_are_the_gradients_of_the_loss_with_respect_to_each_hidden_state():
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=22, scale=0.5)
    _, cache = core.forward(params, inputs, targets, hprev)
    hs = cache[2]
    for last_only in (False, True):
        _, dhs = core.backward(params, cache, last_step_only=last_only)
        assert dhs.shape == (6, 4)
        for t in range(6):
            h = hs[t].copy()
            pick = (lambda ls: ls[-1]) if last_only else sum
            num = centered_differences(lambda: pick(losses_from(params, h, t, inputs, targets)), h)
            np.testing.assert_allclose(dhs[t], num[:, 0], rtol=1e-6, atol=1e-10,
                                       err_msg=f"t={t}, last_step_only={last_only}")
        norms = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=last_only)
        np.testing.assert_allclose(norms, np.linalg.norm(dhs, axis=1), rtol=1e-12)


def test_gradient_reaching_hprev_matches_finite_differences():
    # dL/dhprev = Whh.T @ ((1 - h_0^2) * dL/dh_0): the last link of the chain, checked
    # against nudging hprev itself (so Whh.T vs Whh matters).
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=23, scale=0.5)
    _, cache = core.forward(params, inputs, targets, hprev)
    _, dhs = core.backward(params, cache)
    h0 = cache[2][0]
    dhprev = params["Whh"].T @ ((1 - h0 ** 2) * dhs[0][:, None])
    hp = hprev.copy()
    num = centered_differences(lambda: core.forward(params, inputs, targets, hp)[0], hp)
    np.testing.assert_allclose(dhprev, num, rtol=1e-6, atol=1e-10)


def _orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def test_last_step_gradient_vanishes_going_back_with_a_small_whh():
    V, H, T = 5, 6, 10
    params, inputs, targets, hprev = random_case(V, H, T, seed=31, scale=1.0)
    params["Whh"] = 0.5 * _orthogonal(H, 31)
    norms = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True)
    assert norms.shape == (T,)
    assert np.all(norms[:-1] < 0.55 * norms[1:]), norms
    assert norms[0] < 1e-2 * norms[-1]


def test_last_step_gradient_explodes_going_back_with_a_large_whh():
    V, H, T = 5, 6, 10
    params, inputs, targets, _ = random_case(V, H, T, seed=32, scale=1.0)
    params["Whh"] = 1.5 * _orthogonal(H, 32)   # spectral radius 1.5
    params["Wxh"] *= 1e-4                      # tiny inputs: tanh stays in its linear part
    params["bh"][:] = 0
    norms = core.hidden_grad_norms(params, inputs, targets, np.zeros((H, 1)), last_step_only=True)
    ratios = norms[:-1] / norms[1:]
    np.testing.assert_allclose(ratios, 1.5, rtol=0.02)
    assert norms[0] > 30 * norms[-1]


def test_full_loss_hidden_grad_norms_include_every_step():
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=33, scale=0.5)
    last = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True)
    full = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=False)
    assert last[-1] == pytest.approx(full[-1], rel=1e-12)   # nothing comes after the last step
    assert not np.allclose(last[:-1], full[:-1])


# ------------------------------------------------------------------ optimizers


def _params_and_grads(seed):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    g1 = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    g2 = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    return params, g1, g2


def test_adagrad_updates_the_very_arrays_in_params():
    params, g1, g2 = _params_and_grads(41)
    arrays = dict(params)                      # the same array objects
    start = {k: v.copy() for k, v in params.items()}
    lr, eps = 0.1, 1e-8
    opt = core.Adagrad(params, learning_rate=lr)
    opt.step(g1)
    for k in NAMES:
        assert params[k] is arrays[k]
        assert not np.array_equal(params[k], start[k])
        for ix in np.ndindex(start[k].shape):
            g = g1[k][ix]
            assert params[k][ix] == pytest.approx(start[k][ix] - lr * g / math.sqrt(g * g + eps),
                                                  rel=1e-12, abs=1e-14)
    after1 = {k: v.copy() for k, v in params.items()}
    opt.step(g2)
    for k in NAMES:
        assert params[k] is arrays[k]
        for ix in np.ndindex(start[k].shape):
            m = g1[k][ix] ** 2 + g2[k][ix] ** 2         # memory accumulates both steps
            assert opt.mem[k][ix] == pytest.approx(m, rel=1e-14)
            want = after1[k][ix] - lr * g2[k][ix] / math.sqrt(m + eps)
            assert params[k][ix] == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_sgd_updates_the_very_arrays_in_params():
    params, g1, g2 = _params_and_grads(42)
    arrays = dict(params)
    start = {k: v.copy() for k, v in params.items()}
    opt = core.SGD(params, learning_rate=0.05)
    opt.step(g1)
    opt.step(g2)
    for k in NAMES:
        assert params[k] is arrays[k]
        np.testing.assert_allclose(params[k], start[k] - 0.05 * g1[k] - 0.05 * g2[k], rtol=1e-12)


# ------------------------------------------------------------------- clipping


def _grads(seed, scale=10.0):
    rng = np.random.default_rng(seed)
    return {k: scale * rng.standard_normal(s) for k, s in core.param_shapes(5, 4).items()}


def test_clip_elementwise_bounds_every_entry_and_leaves_the_input_alone():
    grads = _grads(51)
    before = {k: v.copy() for k, v in grads.items()}
    clipped = core.clip_elementwise(grads, 5.0)
    assert any(np.abs(v).max() > 5 for v in grads.values())   # the test really clips
    for k in NAMES:
        assert np.abs(clipped[k]).max() <= 5.0
        np.testing.assert_array_equal(grads[k], before[k])
        for g, c in zip(grads[k].ravel(), clipped[k].ravel()):
            assert c == (g if abs(g) <= 5 else math.copysign(5.0, g))


def _global_norm(grads):
    return math.sqrt(sum(float(x) ** 2 for g in grads.values() for x in g.ravel()))


def test_clip_global_norm_rescales_to_max_norm_keeping_the_direction():
    grads = _grads(52)
    before = {k: v.copy() for k, v in grads.items()}
    norm0 = _global_norm(grads)
    assert norm0 > 5
    clipped, norm = core.clip_global_norm(grads, 5.0)
    assert norm == pytest.approx(norm0, rel=1e-12)
    assert _global_norm(clipped) == pytest.approx(5.0, rel=1e-12)
    a = np.concatenate([grads[k].ravel() for k in NAMES])
    b = np.concatenate([clipped[k].ravel() for k in NAMES])
    assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) == pytest.approx(1.0, abs=1e-12)
    assert all(np.array_equal(grads[k], before[k]) for k in NAMES)
    assert core.global_norm(grads) == pytest.approx(norm0, rel=1e-12)


def test_clip_global_norm_changes_nothing_under_the_threshold():
    grads = _grads(53, scale=0.01)
    norm0 = _global_norm(grads)
    clipped, norm = core.clip_global_norm(grads, 5.0)
    assert norm == pytest.approx(norm0, rel=1e-12) and norm0 < 5
    for k in NAMES:
        np.testing.assert_array_equal(clipped[k], grads[k])


# ------------------------------------------------------------------- sampling


def _sampling_params(seed=75):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    return params, 0.3 * rng.standard_normal((3, 1))


def test_sampling_is_reproducible_with_a_seed_and_differs_with_another():
    params, h = _sampling_params()
    a = core.sample(params, h, 0, 60, np.random.default_rng(7))
    b = core.sample(params, h, 0, 60, np.random.default_rng(7))
    c = core.sample(params, h, 0, 60, np.random.default_rng(8))
    assert a == b and a != c
    assert len(a) == 60 and all(type(i) is int and 0 <= i < 4 for i in a)
    assert core.sample(params, h, 0, 0, np.random.default_rng(7)) == []


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampled_frequencies_follow_softmax_of_logits_over_temperature(temperature):
    params, h = _sampling_params()
    seed_ix = 2
    # the first draw uses h_1 = tanh(Wxh x + Whh h + bh) and p = softmax(y / temperature)
    h1 = np.tanh(params["Wxh"][:, seed_ix] + params["Whh"] @ h[:, 0] + params["bh"][:, 0])
    y = params["Why"] @ h1 + params["by"][:, 0]

    def probs(tau):
        e = [math.exp(v / tau) for v in y]
        return np.array(e) / sum(e)

    want = probs(temperature)
    # the three temperatures give clearly different distributions, so ignoring them shows
    assert min(np.abs(probs(a) - probs(b)).max() for a, b in ((0.5, 1), (1, 2), (0.5, 2))) > 0.15
    rng = np.random.default_rng(123)
    n = 4000
    counts = np.bincount([core.sample(params, h, seed_ix, 1, rng, temperature)[0]
                          for _ in range(n)], minlength=4)
    assert np.abs(counts / n - want).max() < 0.035, (counts / n, want)


def test_generate_returns_the_prime_followed_by_n_characters_from_its_hidden_state():
    vocab = core.Vocab("abcd")
    params, _ = _sampling_params()
    text = core.generate(params, vocab, "dab", 25, np.random.default_rng(3), temperature=0.8)
    assert len(text) == 3 + 25 and text.startswith("dab") and set(text) <= set("abcd")
    h = np.zeros((3, 1))
    for ix in (3, 0):                          # the prime except its last character
        h = _step(params, ix, h)
    ids = core.sample(params, h, 1, 25, np.random.default_rng(3), temperature=0.8)
    assert text == "dab" + "".join("abcd"[i] for i in ids)
    assert core.generate(params, vocab, "c", 0, np.random.default_rng(3)) == "c"


def test_vocab_round_trip_and_sorted_ids():
    vocab = core.Vocab.from_text("hello world")
    assert vocab.chars == " dehlorw" and vocab.size == 8
    ids = vocab.encode("world hello")
    assert ids.dtype.kind == "i" and list(ids[:2]) == [7, 5]
    assert vocab.decode(ids) == "world hello"


# ------------------------------------------------------------------- training


def test_training_is_deterministic_for_a_seed(tiny_text):
    kw = dict(hidden_size=10, seq_length=12, num_iters=30, learning_rate=0.1)
    a = core.train(tiny_text, seed=3, **kw)
    b = core.train(tiny_text, seed=3, **kw)
    c = core.train(tiny_text, seed=4, **kw)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in NAMES)
    assert not np.array_equal(a.losses, c.losses)


TRAIN_SCRIPT = """
import hashlib, numpy as np, charrnn_core as core
r = core.train(open({path!r}, encoding="utf-8").read(), hidden_size=10, seq_length=12,
               num_iters=30, learning_rate=0.1, seed=3)
h = hashlib.sha256()
for k in core.PARAM_NAMES:
    h.update(np.ascontiguousarray(r.params[k]).tobytes())
h.update(r.losses.tobytes())
h.update(core.generate(r.params, r.vocab, "Sa", 200, np.random.default_rng(5), 0.8).encode())
print(h.hexdigest())
"""


def test_training_and_sampling_are_bit_for_bit_identical_in_separate_processes(tiny_text, tmp_path):
    script = TRAIN_SCRIPT.format(path=str(TINY))
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=subprocess_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    r = core.train(tiny_text, hidden_size=10, seq_length=12, num_iters=30, learning_rate=0.1,
                   seed=3)
    h = hashlib.sha256()
    for k in NAMES:
        h.update(np.ascontiguousarray(r.params[k]).tobytes())
    h.update(r.losses.tobytes())
    h.update(core.generate(r.params, r.vocab, "Sa", 200, np.random.default_rng(5), 0.8).encode())
    assert outs[0][0].strip() == outs[1][0].strip() == h.hexdigest()


def test_training_lowers_the_loss_on_tiny_text(tiny_text):
    r = core.train(tiny_text, hidden_size=32, seq_length=25, num_iters=200, seed=0)
    V = r.vocab.size
    assert r.losses.shape == r.smooth_losses.shape == (200,)
    assert r.smooth_losses[0] == pytest.approx(0.999 * 25 * math.log(V) + 0.001 * r.losses[0])
    assert np.all(np.diff(r.smooth_losses[50:]) < 0)  # the smoothed loss keeps going down
    assert r.losses[-20:].mean() < 0.8 * r.losses[:20].mean()
    assert r.hprev.shape == (32, 1)


def test_train_follows_the_gist_loop_written_out_by_hand(tiny_text):
    # The loop spelled out: B=2 streams (the two halves of the text), each window's
    # targets are the inputs shifted by one, hidden states carried over and reset at the
    # wrap-around, gradients averaged over streams, clipped to [-5, 5], Adagrad update.
    text = tiny_text[:200]
    H, T, B, lr, iters = 6, 8, 2, 0.1, 15
    r = core.train(text, hidden_size=H, seq_length=T, learning_rate=lr, num_iters=iters, seed=5,
                   batch_size=B)
    vocab = core.Vocab.from_text(text)
    data = vocab.encode(text)
    n = len(data) // B
    streams = [data[b * n:(b + 1) * n] for b in range(B)]
    params = core.init_params(vocab.size, H, np.random.default_rng(5))
    mem = {k: np.zeros_like(v) for k, v in params.items()}
    hs = [np.zeros((H, 1)) for _ in range(B)]
    p, losses, smooth = 0, [], T * math.log(vocab.size)
    for it in range(iters):
        if p + T + 1 > n:
            p, hs = 0, [np.zeros((H, 1)) for _ in range(B)]
        total, gsum = 0.0, {k: 0.0 for k in NAMES}
        for b in range(B):
            loss, g, hs[b] = core.loss_and_grads(params, streams[b][p:p + T],
                                                 streams[b][p + 1:p + T + 1], hs[b])
            total += loss
            gsum = {k: gsum[k] + g[k] for k in NAMES}
        for k in NAMES:
            g = np.minimum(np.maximum(gsum[k] / B, -5.0), 5.0)
            mem[k] += g * g
            params[k] -= lr * g / np.sqrt(mem[k] + 1e-8)
        losses.append(total / B)
        smooth = 0.999 * smooth + 0.001 * total / B
        p += T
    assert iters * T > n                                  # the run did wrap around
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10)
    assert r.smooth_losses[-1] == pytest.approx(smooth, rel=1e-10)
    for k in NAMES:
        np.testing.assert_allclose(r.params[k], params[k], rtol=1e-9, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(r.hprev, np.hstack(hs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("clip_mode", ["elementwise", "global"])
def test_training_clips_the_gradients(tiny_text, clip_mode):
    # One plain SGD step with learning rate 1 moves the params by exactly the clipped gradient.
    kw = dict(hidden_size=8, seq_length=10, num_iters=1, optimizer="sgd", learning_rate=1.0,
              seed=2, clip_mode=clip_mode)
    start = core.init_params(core.Vocab.from_text(tiny_text).size, 8, np.random.default_rng(2))
    free = core.train(tiny_text, clip=None, **kw).params
    clipped = core.train(tiny_text, clip=1e-3, **kw).params
    step = {k: start[k] - clipped[k] for k in NAMES}
    big = {k: start[k] - free[k] for k in NAMES}
    assert max(np.abs(v).max() for v in big.values()) > 0.1   # the test really clips
    if clip_mode == "elementwise":
        for k in NAMES:
            np.testing.assert_allclose(step[k], np.clip(big[k], -1e-3, 1e-3), atol=1e-15)
    else:
        norm = math.sqrt(sum(float(np.sum(v * v)) for v in big.values()))
        for k in NAMES:
            np.testing.assert_allclose(step[k], big[k] * 1e-3 / norm, rtol=1e-7, atol=1e-15)


def test_training_learns_to_predict_the_next_character():
    # "abcd" repeated: after training, the most likely character after each one is the
    # NEXT one in the text (a model trained on shifted targets would say the same one).
    r = core.train("abcd" * 100, hidden_size=8, seq_length=8, num_iters=150, seed=0)
    assert r.losses[-10:].mean() < 0.5
    for prime in "abcd":
        text = core.generate(r.params, r.vocab, prime, 8, np.random.default_rng(0), temperature=0.1)
        want = ("abcd" * 4)["abcd".index(prime):][:9]
        assert text == want


def test_batched_training_averages_over_streams():
    # Two identical streams (text s + s, batch 2) must train exactly like one stream (s, batch 1).
    s = open(TINY, encoding="utf-8").read()[:600]
    vocab = core.Vocab.from_text(s)
    kw = dict(hidden_size=8, seq_length=10, num_iters=40, seed=1, vocab=vocab)
    one = core.train(s, batch_size=1, **kw)
    two = core.train(s + s, batch_size=2, **kw)
    np.testing.assert_allclose(two.losses, one.losses, rtol=1e-10)
    for k in NAMES:
        np.testing.assert_allclose(two.params[k], one.params[k], rtol=1e-9, atol=1e-12)
    assert two.hprev.shape == (8, 2)


def test_batched_training_lowers_the_loss(tiny_text):
    r = core.train(tiny_text, hidden_size=16, seq_length=10, num_iters=100, batch_size=4, seed=0,
                   clip_mode="global")
    assert r.losses.shape == (100,) and r.hprev.shape == (16, 4)
    assert r.losses[-10:].mean() < 0.85 * r.losses[:10].mean()


def test_sgd_training_with_global_clipping_runs(tiny_text):
    r = core.train(tiny_text, hidden_size=8, seq_length=10, num_iters=30, optimizer="sgd",
                   learning_rate=0.05, clip=1.0, clip_mode="global")
    assert np.all(np.isfinite(r.losses))


def test_callback_sees_every_iteration_and_the_live_params(tiny_text):
    seen = []
    r = core.train(tiny_text, hidden_size=8, seq_length=10, num_iters=7,
                   clip=1e-3, callback=lambda step: seen.append(step))
    assert [s.iteration for s in seen] == list(range(7))
    assert [s.smooth_loss for s in seen] == list(r.smooth_losses)
    assert [s.loss for s in seen] == list(r.losses)
    assert all(s.params is r.params for s in seen)
    # the record carries the gradient before clipping and the one the optimizer used
    assert all(max(np.abs(g).max() for g in s.grads.values()) > 1e-3 for s in seen)
    assert all(np.array_equal(s.clipped[k], np.clip(s.grads[k], -1e-3, 1e-3)) for s in seen for k in NAMES)


def test_training_continues_from_given_params(tiny_text):
    first = core.train(tiny_text, hidden_size=8, seq_length=10, num_iters=20, seed=0)
    start = {k: v.copy() for k, v in first.params.items()}
    more = core.train(tiny_text, num_iters=5, params=first.params, vocab=first.vocab)
    assert more.params is first.params
    assert all(not np.array_equal(start[k], more.params[k]) for k in ("Why", "by"))


def test_absurd_learning_rate_raises_training_diverged(tiny_text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no numpy RuntimeWarning on the way
        with pytest.raises(core.TrainingDiverged, match=r"learning_rate=1000000\.0"):
            core.train(tiny_text, hidden_size=8, seq_length=10, learning_rate=1e6, clip=None,
                       num_iters=50)
    assert issubclass(core.TrainingDiverged, ArithmeticError)


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_is_exact(tmp_path):
    vocab = core.Vocab("ab\ncé")
    params = {k: v for k, v in random_case(5, 4, 3, seed=71)[0].items()}
    path = tmp_path / "m.npz"
    core.save_checkpoint(path, params, vocab, iteration=12, smooth_loss=3.25, data="tiny.txt")
    got, got_vocab, meta = core.load_checkpoint(path)
    assert got_vocab == vocab and got_vocab.chars == "ab\ncé"
    for k in NAMES:
        assert got[k].dtype == params[k].dtype
        np.testing.assert_array_equal(got[k], params[k])
    assert meta == {"iteration": 12, "smooth_loss": 3.25, "data": "tiny.txt", "cell": "rnn"}


def test_checkpoint_round_trip_keeps_float32(tmp_path):
    params = core.init_params(3, 2, np.random.default_rng(0), dtype=np.float32)
    core.save_checkpoint(tmp_path / "m.npz", params, core.Vocab("xyz"))
    got, _, meta = core.load_checkpoint(tmp_path / "m.npz")
    assert meta == {"cell": "rnn"}
    assert all(got[k].dtype == np.float32 and np.array_equal(got[k], params[k]) for k in NAMES)


def test_a_crash_while_saving_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    old_params = core.init_params(4, 3, np.random.default_rng(0))
    core.save_checkpoint(path, old_params, core.Vocab("abcd"), iteration=1)
    old_bytes = path.read_bytes()

    def crash(f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(core, "_write_npz", crash)
    new_params = core.init_params(4, 3, np.random.default_rng(1))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*simulated"):
        core.save_checkpoint(path, new_params, core.Vocab("abcd"), iteration=2)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    params, _, meta = core.load_checkpoint(path)
    assert meta["iteration"] == 1 and np.array_equal(params["Wxh"], old_params["Wxh"])


def test_saving_over_a_checkpoint_replaces_it(tmp_path):
    path = tmp_path / "m.npz"
    core.save_checkpoint(path, core.init_params(4, 3, np.random.default_rng(0)), core.Vocab("abcd"))
    new = core.init_params(4, 3, np.random.default_rng(1))
    core.save_checkpoint(path, new, core.Vocab("abcd"), iteration=5)
    params, _, meta = core.load_checkpoint(path)
    assert meta == {"iteration": 5, "cell": "rnn"} and np.array_equal(params["Whh"], new["Whh"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ------------------------------------------------------- gradient-check helpers


def test_numerical_gradient_of_a_cubic_and_x_is_restored():
    x = np.array([[0.5, -1.0, 2.0], [0.1, 0.0, -0.3]])
    before = x.copy()
    grad = core.numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x, before)
    some = core.numerical_gradient(lambda: float(np.sum(x ** 3)), x, indices=[(0, 2)])
    assert some[0, 2] == pytest.approx(12.0, rel=1e-9) and np.count_nonzero(some) == 1


def test_rel_error_is_symmetric_and_scale_free():
    assert core.rel_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert core.rel_error([1.0], [-1.0]) == 1.0
    assert core.rel_error([3.0, 1e-3], [1.0, 1e-3]) == pytest.approx(0.5)
    assert core.rel_error([2e6], [1e6]) == core.rel_error([2e-6], [1e-6]) == pytest.approx(1 / 3)


def test_saved_checkpoint_has_ordinary_file_permissions(tmp_path):
    import os
    import stat
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "m.npz"
    core.save_checkpoint(path, core.init_params(3, 2, np.random.default_rng(0)), core.Vocab("abc"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_split_text_cuts_once_at_the_fraction():
    train_part, held = core.split_text("abcdefghij", 0.9)
    assert (train_part, held) == ("abcdefghi", "j")
    assert core.split_text("abcd", 1) == ("abcd", "")
    with pytest.raises(ValueError, match="train_fraction"):
        core.split_text("abcd", 0)


def test_evaluate_one_stream_is_the_mean_of_forward_losses_with_carried_state():
    params, ids, _, _ = random_case(V=6, H=4, T=40, seed=3)
    loss, _ = core.forward(params, ids[:-1], ids[1:], np.zeros((4, 1)))
    assert abs(core.evaluate(params, ids, streams=1) - loss / 39) < 1e-12
    # two streams: each half is read from a zero state, and both halves are predicted
    a, _ = core.forward(params, ids[:19], ids[1:20], np.zeros((4, 1)))
    b, _ = core.forward(params, ids[20:39], ids[21:40], np.zeros((4, 1)))
    assert abs(core.evaluate(params, ids, streams=2) - (a + b) / 38) < 1e-12


def test_evaluate_names_bad_ids():
    params, ids, _, _ = random_case(V=6, H=4, T=10, seed=3)
    for bad in (ids[:1], ids.astype(float), np.array([0, 6]), ids.reshape(2, 5)):
        with pytest.raises(ValueError, match="^ids "):
            core.evaluate(params, bad)
