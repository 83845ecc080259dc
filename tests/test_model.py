"""Unit tests of the RNN model in charrnn_core: vocabulary, one-hot, rnn_step, forward,
backward, the batched pass, the table of cells, gradient checking, clipping, optimizers.

Each test checks the core against something independent (finite differences written in
conftest, arithmetic done by hand, an identity), never against the same code path."""

import math

import numpy as np
import pytest

import charrnn_core as core
from conftest import batch_col, centered_differences, lstm_case, normwise_error, random_case

NAMES = core.PARAM_NAMES


# ------------------------------------------------------------ vocabulary, one-hot, text


def test_vocab_round_trip_and_sorted_ids():
    """Vocab.from_text sorts the characters; encode then decode gives the text back."""
    vocab = core.Vocab.from_text("hello world")
    assert vocab.chars == " dehlorw" and vocab.size == 8
    assert vocab.index == {c: i for i, c in enumerate(" dehlorw")}
    ids = vocab.encode("world hello")
    assert ids.dtype.kind == "i" and list(ids[:2]) == [7, 5]
    assert vocab.decode(ids) == "world hello"
    assert vocab.decode([]) == "" and vocab.encode("").shape == (0,)


def test_vocab_encodes_characters_beyond_the_basic_plane():
    """Characters above U+FFFF (and above the vocabulary's largest) get the right ids."""
    vocab = core.Vocab("a\u00e9\U0001F600")
    assert list(vocab.encode("\U0001F600a\u00e9")) == [2, 0, 1]
    with pytest.raises(ValueError, match="U\\+1F601"):
        vocab.encode("\U0001F601")


def test_multiplying_by_one_hot_selects_a_column():
    """Wxh @ one_hot(i) == Wxh[:, i] for every i, and one_hot has a single 1."""
    rng = np.random.default_rng(0)
    V = 7
    Wxh = rng.standard_normal((5, V))
    for i in range(V):
        x = core.one_hot(i, V)
        assert x.shape == (V, 1) and x.sum() == 1 and x[i, 0] == 1
        np.testing.assert_array_equal(Wxh @ x, Wxh[:, [i]])


def test_split_text_cuts_once_at_the_fraction():
    """split_text gives the first train_fraction of the text, then the rest."""
    train_part, held = core.split_text("abcdefghij", 0.9)
    assert (train_part, held) == ("abcdefghi", "j")
    assert core.split_text("abcd", 1) == ("abcd", "")
    with pytest.raises(ValueError, match="train_fraction"):
        core.split_text("abcd", 0)


# ----------------------------------------------------------------------- softmax


def test_softmax_of_huge_logits_is_finite_and_one_hot():
    """A logit of 1000 does not overflow: the result is finite and one-hot."""
    p = core.softmax(np.array([[1000.0], [0.0]]))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1.0], [0.0]], atol=1e-300)


def test_softmax_columns_sum_to_one_and_match_the_definition():
    """Each column is exp(z) / sum(exp(z)), computed here with math.exp."""
    rng = np.random.default_rng(1)
    z = 3 * rng.standard_normal((6, 4))
    p = core.softmax(z)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-15, atol=1e-15)
    for b in range(4):
        e = [math.exp(v) for v in z[:, b]]
        np.testing.assert_allclose(p[:, b], [v / sum(e) for v in e], rtol=1e-13)


def test_softmax_is_shift_invariant():
    """softmax(z + c) == softmax(z) for a constant c per column."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3))
    np.testing.assert_allclose(core.softmax(z), core.softmax(z + 123.0), rtol=1e-12)
    np.testing.assert_allclose(core.softmax(z), core.softmax(z - np.array([[5.0, -7.0, 0.5]])),
                               rtol=1e-12)


# ------------------------------------------------------------ parameters, initial loss


def test_init_params_shapes_scale_and_zero_biases():
    """init_params: the gist's shapes, weights of std ~ scale, zero biases, seeded."""
    p = core.init_params(6, 4, np.random.default_rng(3), scale=0.01)
    assert {k: v.shape for k, v in p.items()} == core.param_shapes(6, 4)
    assert core.param_shapes(6, 4) == {"Wxh": (4, 6), "Whh": (4, 4), "Why": (6, 4),
                                       "bh": (4, 1), "by": (6, 1)}
    assert core.check_params(p) == (6, 4)
    assert not p["bh"].any() and not p["by"].any()
    assert 0.002 < np.std(np.concatenate([p["Wxh"].ravel(), p["Whh"].ravel(),
                                          p["Why"].ravel()])) < 0.02
    q = core.init_params(6, 4, np.random.default_rng(3), scale=0.01)
    assert all(np.array_equal(p[k], q[k]) for k in NAMES)


def test_initial_loss_is_about_T_log_V(tiny_text):
    """With tiny weights every character is about equally likely: loss ~ T ln V."""
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


# ------------------------------------------------------------------------ rnn_step


@pytest.mark.parametrize("B", [1, 3])
def test_rnn_step_is_tanh_of_wxh_x_plus_whh_h_plus_bh(B):
    """rnn_step equals tanh(Wxh @ one_hot + Whh @ h + bh), each column computed by hand."""
    params, _, _, h = random_case(V=5, H=4, T=1, seed=61, B=B, scale=0.7)
    ix = [3, 0, 3][:B]
    got = core.rnn_step(params, ix, h)
    assert got.shape == (4, B)
    for b in range(B):
        x = np.zeros(5)
        x[ix[b]] = 1.0
        z = [sum(params["Wxh"][r, c] * x[c] for c in range(5))
             + sum(params["Whh"][r, c] * h[c, b] for c in range(4)) + params["bh"][r, 0]
             for r in range(4)]
        np.testing.assert_allclose(got[:, b], [math.tanh(v) for v in z], rtol=1e-13)


def test_forward_hidden_states_are_the_steps_of_rnn_step():
    """forward's hs[t] is rnn_step of input t from hs[t-1], and hs[-1] is hprev."""
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=62, scale=0.5)
    _, (_, _, hs, ps) = core.forward(params, inputs, targets, hprev)
    np.testing.assert_array_equal(hs[-1], hprev)
    h = hprev
    for t, ix in enumerate(inputs):
        h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h + params["bh"])
        np.testing.assert_allclose(hs[t], h, rtol=1e-13)
        np.testing.assert_array_equal(hs[t], core.rnn_step(params, [ix], hs[t - 1]))
        y = params["Why"] @ h + params["by"]
        np.testing.assert_allclose(ps[t], np.exp(y) / np.exp(y).sum(), rtol=1e-12)


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
    """Loss, every gradient and h_last equal the chain rule worked out with scalars."""
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
    """forward's cache holds h_t and p_t for t = -1..T-1 as scalar arithmetic gives them."""
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


# -------------------------------------------------- gradients vs finite differences


@pytest.mark.parametrize("batched, seed", [(False, 1), (False, 2), (False, 8),
                                           (True, 0), (True, 4), (True, 7)])
def test_every_gradient_entry_matches_finite_differences(batched, seed):
    """grad_check (every entry, per-step or batched B=3) passes at GRAD_CHECK_TOL = 1e-7."""
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=seed, B=3 if batched else None)
    fn = core.loss_and_grads_batch if batched else core.loss_and_grads
    errors = core.grad_check(params, inputs, targets, hprev, grad_fn=fn)
    assert set(errors) == set(NAMES)
    assert core.GRAD_CHECK_TOL == 1e-7
    assert max(errors.values()) < 1e-7, errors
    worst = core.grad_check(params, inputs, targets, hprev, grad_fn=fn, worst_entry=True)
    assert max(worst.values()) < 1e-7, worst


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
def test_gradients_match_finite_differences_normwise_for_many_seeds(batched):
    """Over 10 seeds every gradient is within 1e-8 (norm-wise) of conftest's centred differences."""
    fn = core.loss_and_grads_batch if batched else core.loss_and_grads
    for seed in range(10):
        params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=100 + seed,
                                                     B=2 if batched else None)
        _, grads, _ = fn(params, inputs, targets, hprev)
        for k in NAMES:
            num = centered_differences(lambda: fn(params, inputs, targets, hprev)[0], params[k])
            err = normwise_error(grads[k], num)
            assert err < 1e-8, f"seed {seed}, {k}: {err:.2e}"


# ---------------------------------------------------------- grad_check and its measures


def transposed_whh(p, i, t, h):
    """loss_and_grads with a planted bug: dWhh transposed."""
    loss, grads, h_last = core.loss_and_grads(p, i, t, h)
    grads["Whh"] = grads["Whh"].T.copy()
    return loss, grads, h_last


def test_grad_check_flags_a_planted_wrong_gradient_above_the_tolerance():
    """A transposed dWhh scores far above GRAD_CHECK_TOL; the correct dWxh stays below it."""
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=5)
    errors = core.grad_check(params, inputs, targets, hprev, grad_fn=transposed_whh)
    assert errors["Whh"] > 1e-3 > core.GRAD_CHECK_TOL
    assert max(errors[k] for k in NAMES if k != "Whh") < core.GRAD_CHECK_TOL


def test_grad_check_returns_the_normwise_error_by_default_and_the_worst_entry_on_request():
    """Default: ||a - n|| / (||a|| + ||n||) per parameter; worst_entry=True: max |a - n| / (|a| + |n|)."""
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=14)

    def one_entry_doubled(p, i, t, h):  # a planted bug in a single entry of dWhy
        loss, grads, h_last = core.loss_and_grads(p, i, t, h)
        grads["Why"][1, 2] *= 2
        return loss, grads, h_last

    _, grads, _ = one_entry_doubled(params, inputs, targets, hprev)
    normwise = core.grad_check(params, inputs, targets, hprev, grad_fn=one_entry_doubled)
    worst = core.grad_check(params, inputs, targets, hprev, grad_fn=one_entry_doubled,
                            worst_entry=True)
    for k in NAMES:
        num = centered_differences(lambda: core.loss_and_grads(params, inputs, targets, hprev)[0],
                                   params[k])
        assert normwise[k] == pytest.approx(normwise_error(grads[k], num), rel=1e-6, abs=1e-15), k
        denom = np.abs(grads[k]) + np.abs(num)  # 0 / 0 (an unused column of Wxh) counts as 0
        entry = np.divide(np.abs(grads[k] - num), denom, out=np.zeros_like(denom), where=denom > 0)
        assert worst[k] == pytest.approx(entry.max(), rel=1e-6, abs=1e-15), k
    assert worst["Why"] == pytest.approx(1 / 3, rel=1e-5)      # |2g - g| / (|2g| + |g|)
    assert core.GRAD_CHECK_TOL < normwise["Why"] < 0.3          # one entry of 15: diluted


def test_grad_check_with_sampled_entries_compares_only_those_and_leaves_params_unchanged():
    """num_checks=3 gives the norm-wise error over the 3 sampled entries; params are restored."""
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=6)
    before = {k: v.copy() for k, v in params.items()}
    errors = core.grad_check(params, inputs, targets, hprev, num_checks=3,
                             rng=np.random.default_rng(0))
    assert max(errors.values()) < 1e-6
    assert all(np.array_equal(before[k], params[k]) for k in NAMES)
    bad = core.grad_check(params, inputs, targets, hprev, num_checks=3,
                          rng=np.random.default_rng(0), grad_fn=transposed_whh)
    assert bad["Whh"] > 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_sampled_grad_check_of_wxh_draws_from_the_input_characters_columns(seed):
    """With V=40 and 2 input characters, a sample of 3 dWxh entries still catches a doubled dWxh."""
    # 38 of Wxh's 40 columns have gradient exactly 0 in backprop and in finite differences.
    # A uniform sample of 3 entries would almost always land there and miss a wrong dWxh.
    params, _, targets, hprev = random_case(V=40, H=3, T=4, seed=seed)
    inputs = np.array([7, 31, 7, 31])

    def doubled_wxh(p, i, t, h):
        loss, grads, h_last = core.loss_and_grads(p, i, t, h)
        grads["Wxh"] = 2 * grads["Wxh"]
        return loss, grads, h_last

    errors = core.grad_check(params, inputs, targets, hprev, num_checks=3,
                             rng=np.random.default_rng(seed), grad_fn=doubled_wxh)
    assert errors["Wxh"] == pytest.approx(1 / 3, rel=1e-5)     # |1 - 2| / (1 + 2), norm-wise too
    assert max(errors[k] for k in NAMES if k != "Wxh") < 1e-6


def test_norm_rel_error_ignores_noise_on_one_tiny_entry_that_rel_error_sees():
    """Rounding noise on a 1e-12 entry: rel_error ~ 1/3, norm_rel_error far below GRAD_CHECK_TOL."""
    a = np.array([1.0, -2.0, 0.5, 1e-12])
    b = np.array([1.0, -2.0, 0.5, 2e-12])
    assert core.rel_error(a, b) == pytest.approx(1 / 3)
    assert core.norm_rel_error(a, b) == pytest.approx(normwise_error(a, b), rel=1e-12)
    assert core.norm_rel_error(a, b) < 1e-12 < core.GRAD_CHECK_TOL
    assert core.norm_rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert core.norm_rel_error([3.0, 4.0], [-3.0, -4.0]) == 1.0


def test_rel_error_is_symmetric_and_scale_free():
    """rel_error: 0 for equal arrays, 1 for opposite signs, the same for any scale."""
    assert core.rel_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert core.rel_error([1.0], [-1.0]) == 1.0
    assert core.rel_error([3.0, 1e-3], [1.0, 1e-3]) == pytest.approx(0.5)
    assert core.rel_error([2e6], [1e6]) == core.rel_error([2e-6], [1e-6]) == pytest.approx(1 / 3)
    assert core.rel_error([1.0, 2.0], [2.0, 1.0]) == core.rel_error([2.0, 1.0], [1.0, 2.0])


def test_numerical_gradient_of_a_cubic_and_x_is_restored():
    """numerical_gradient of sum(x^3) is 3 x^2; x is restored; indices fill only those entries."""
    x = np.array([[0.5, -1.0, 2.0], [0.1, 0.0, -0.3]])
    before = x.copy()
    grad = core.numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x, before)
    some = core.numerical_gradient(lambda: float(np.sum(x ** 3)), x, indices=[(0, 2)])
    assert some[0, 2] == pytest.approx(12.0, rel=1e-9) and np.count_nonzero(some) == 1


def test_numerical_gradient_restores_x_when_f_raises():
    """An exception inside f leaves x as it was."""
    x = np.array([1.0, 2.0])

    def boom():
        raise RuntimeError("f failed")

    with pytest.raises(RuntimeError):
        core.numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


# ------------------------------------------------------------------ the batched pass


def test_batch_of_one_equals_the_per_step_version():
    """loss_and_grads_batch with B=1 gives loss_and_grads's loss, gradients and h_last."""
    params, inputs, targets, hprev = random_case(V=5, H=4, T=7, seed=11)
    loss, grads, h = core.loss_and_grads(params, inputs, targets, hprev)
    lossb, gradsb, hb = core.loss_and_grads_batch(params, batch_col(inputs), batch_col(targets),
                                                  hprev)
    assert lossb == pytest.approx(loss, rel=1e-12)
    for k in NAMES:
        np.testing.assert_allclose(gradsb[k], grads[k], rtol=1e-12, atol=1e-15, err_msg=k)
    np.testing.assert_allclose(hb, h, rtol=1e-12, atol=1e-15)


def test_batch_of_three_is_the_sum_of_its_columns():
    """A batch's loss and gradients are the sums over its columns run one at a time."""
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
    """Neither version changes params, inputs, targets or hprev."""
    params, inputs, targets, hprev = random_case(V=4, H=3, T=5, seed=13, B=2)
    copies = [{k: v.copy() for k, v in params.items()}, inputs.copy(), targets.copy(), hprev.copy()]
    core.loss_and_grads_batch(params, inputs, targets, hprev)
    core.loss_and_grads(params, inputs[:, 0], targets[:, 0], hprev[:, :1])
    assert all(np.array_equal(copies[0][k], params[k]) for k in NAMES)
    for a, b in zip(copies[1:], (inputs, targets, hprev)):
        np.testing.assert_array_equal(a, b)


def test_per_step_and_batched_losses_agree_when_a_probability_underflows():
    """A probability that underflows to 0 gives loss +inf in both versions, not a math error."""
    params = core.init_params(4, 3, np.random.default_rng(0), scale=0.1)
    hprev = np.zeros((3, 1))
    params = {k: v * 1e5 + 1e3 * np.sign(v) for k, v in params.items()}
    params["Why"] = np.array([[1e4, 0, 0], [-1e4, 0, 0], [0, 0, 0], [0, 0, 0]]) * 10
    params["Wxh"][:] = 1e3
    inputs, targets = np.array([0, 1]), np.array([1, 1])
    with np.errstate(all="ignore"):
        lossb = core.loss_and_grads_batch(params, inputs[:, None], targets[:, None], hprev)[0]
        loss = core.loss_and_grads(params, inputs, targets, hprev)[0]
    assert lossb == math.inf
    assert loss == math.inf


# ----------------------------------------------------------- dhnext and dL/dh_t


def _step_loss(params, h, target):
    y = params["Why"] @ h + params["by"]
    return float(-(y[target, 0] - y.max() - np.log(np.exp(y - y.max()).sum())))


def losses_from(params, h, t, inputs, targets):
    """Per-step losses of steps t .. T-1 when h_t is forced to h (plain NumPy, not the core)."""
    out = [_step_loss(params, h, targets[t])]
    for s in range(t + 1, len(inputs)):
        h = np.tanh(params["Wxh"][:, [inputs[s]]] + params["Whh"] @ h + params["bh"])
        out.append(_step_loss(params, h, targets[s]))
    return out


def test_dhnext_is_needed_for_correct_gradients():
    """A later target changes dWxh of the first input's column: gradient flows back via dhnext."""
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
    """backward's dhs[t] equals finite differences of the (full or last-step) loss in h_t."""
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
    """Whh.T @ ((1 - h_0^2) * dL/dh_0) equals finite differences of the loss in hprev."""
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
    """With Whh = 0.5 * orthogonal, ||dL_T/dh_t|| shrinks by at least 0.55 per step back."""
    V, H, T = 5, 6, 10
    params, inputs, targets, hprev = random_case(V, H, T, seed=31, scale=1.0)
    params["Whh"] = 0.5 * _orthogonal(H, 31)
    norms = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True)
    assert norms.shape == (T,)
    assert np.all(norms[:-1] < 0.55 * norms[1:]), norms
    assert norms[0] < 1e-2 * norms[-1]


def test_last_step_gradient_explodes_going_back_with_a_large_whh():
    """With Whh = 1.5 * orthogonal in tanh's linear range, the norm grows 1.5x per step back."""
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
    """last_step_only=False adds the other steps' losses: equal at the last step only."""
    params, inputs, targets, hprev = random_case(V=5, H=4, T=6, seed=33, scale=0.5)
    last = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=True)
    full = core.hidden_grad_norms(params, inputs, targets, hprev, last_step_only=False)
    assert last[-1] == pytest.approx(full[-1], rel=1e-12)   # nothing comes after the last step
    assert not np.allclose(last[:-1], full[:-1])


# ------------------------------------------------------------------ the table of cells


def test_cells_table_names_each_cells_parameters_functions_and_state_size():
    """CELLS["rnn"] and CELLS["lstm"] hold the cell's names, shapes, init, gradients, state size."""
    assert set(core.CELLS) == {"rnn", "lstm"}
    rnn, lstm = core.CELLS["rnn"], core.CELLS["lstm"]
    assert (rnn.name, rnn.param_names, rnn.state_size) == ("rnn", NAMES, 1)
    assert (lstm.name, lstm.param_names, lstm.state_size) == ("lstm", core.LSTM_PARAM_NAMES, 2)
    assert rnn.loss_and_grads is core.loss_and_grads
    assert rnn.loss_and_grads_batch is core.loss_and_grads_batch
    assert lstm.loss_and_grads is core.lstm_loss_and_grads
    assert lstm.loss_and_grads_batch is core.lstm_loss_and_grads_batch
    for cell in (rnn, lstm):
        p = cell.init_params(6, 4, np.random.default_rng(0))
        assert {k: v.shape for k, v in p.items()} == cell.param_shapes(6, 4)
        assert tuple(p) == cell.param_names == tuple(cell.param_shapes(6, 4))
        assert core.cell_of(p) == cell.name and core.check_params(p) == (6, 4)
        p32 = cell.init_params(6, 4, np.random.default_rng(0), scale=0.5, dtype=np.float32)
        assert all(v.dtype == np.float32 for v in p32.values())


@pytest.mark.parametrize("B", [1, 3])
def test_each_cells_step_agrees_with_its_own_step_function(B):
    """cell.step on a state tuple equals rnn_step (RNN) and lstm_cell's (h, c) (LSTM)."""
    params, _, _, h = random_case(V=5, H=4, T=1, seed=63, B=B, scale=0.5)
    ix = np.array([1, 4, 1][:B])
    (h1,) = core.CELLS["rnn"].step(params, ix, (h,))
    np.testing.assert_array_equal(h1, core.rnn_step(params, ix, h))
    np.testing.assert_allclose(h1, np.tanh(params["Wxh"][:, ix] + params["Whh"] @ h + params["bh"]),
                               rtol=1e-14)
    lp, _, _, hl, cl = lstm_case(V=5, H=4, T=1, seed=64, B=B)
    state = core.CELLS["lstm"].step(lp, ix, (hl, cl))
    want = core.lstm_cell(lp, ix, hl, cl)
    assert len(state) == 2
    np.testing.assert_array_equal(state[0], want[0])
    np.testing.assert_array_equal(state[1], want[1])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_each_cells_loss_and_grads_runs_from_its_zero_state(cell):
    """loss_and_grads(params, inputs, targets, *zero_state) gives the loss and a next state."""
    c = core.CELLS[cell]
    params = c.init_params(5, 3, np.random.default_rng(1), scale=0.3)
    inputs, targets = np.array([0, 1, 2]), np.array([1, 2, 3])
    loss, grads, *state = c.loss_and_grads(params, inputs, targets, *core.zero_state(params))
    assert len(state) == c.state_size and all(s.shape == (3, 1) for s in state)
    assert set(grads) == set(c.param_names)
    lossb, _, *stateb = c.loss_and_grads_batch(params, batch_col(inputs), batch_col(targets),
                                               *core.zero_state(params, 1))
    assert lossb == pytest.approx(loss, rel=1e-12)
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(state, stateb))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_state_is_a_tuple_of_zero_arrays_of_the_cells_size(cell, dtype):
    """zero_state(params, B): state_size zero (H, B) arrays of the params' dtype."""
    params = core.CELLS[cell].init_params(5, 3, np.random.default_rng(0), dtype=dtype)
    for B in (1, 4):
        state = core.zero_state(params, B)
        assert isinstance(state, tuple) and len(state) == core.CELLS[cell].state_size
        assert all(s.shape == (3, B) and s.dtype == dtype and not s.any() for s in state)
    assert core.zero_state(params)[0].shape == (3, 1)
    a, b = core.zero_state(params, 2)[0], core.zero_state(params, 2)[0]
    a[0, 0] = 1.0
    assert b[0, 0] == 0.0  # a new array each call


def test_cell_of_names_both_key_sets_for_foreign_params():
    """cell_of reads the cell off the keys; foreign keys get a message listing both sets."""
    with pytest.raises(ValueError, match="Wxh.*Wx"):
        core.cell_of({"Wx": 1, "Whh": 2})
    assert core.cell_of(core.init_params(3, 2, np.random.default_rng(0))) == "rnn"
    assert core.cell_of(core.lstm_init_params(3, 2, np.random.default_rng(0))) == "lstm"


# ------------------------------------------------------------------------ clipping


def _grads(seed, scale=10.0):
    rng = np.random.default_rng(seed)
    return {k: scale * rng.standard_normal(s) for k, s in core.param_shapes(5, 4).items()}


def _global_norm(grads):
    return math.sqrt(sum(float(x) ** 2 for g in grads.values() for x in g.ravel()))


def test_clip_elementwise_bounds_every_entry_and_leaves_the_input_alone():
    """Each entry is squeezed into [-5, 5] (others unchanged); the input dict is not modified."""
    grads = _grads(51)
    before = {k: v.copy() for k, v in grads.items()}
    clipped = core.clip_elementwise(grads, 5.0)
    assert any(np.abs(v).max() > 5 for v in grads.values())   # the test really clips
    for k in NAMES:
        assert np.abs(clipped[k]).max() <= 5.0
        np.testing.assert_array_equal(grads[k], before[k])
        for g, c in zip(grads[k].ravel(), clipped[k].ravel()):
            assert c == (g if abs(g) <= 5 else math.copysign(5.0, g))


def test_clip_global_norm_rescales_to_max_norm_keeping_the_direction():
    """Rescaled to norm 5 in the same direction; returns the norm before; input unchanged."""
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
    """Gradients with a norm below max_norm come back unchanged."""
    grads = _grads(53, scale=0.01)
    norm0 = _global_norm(grads)
    clipped, norm = core.clip_global_norm(grads, 5.0)
    assert norm == pytest.approx(norm0, rel=1e-12) and norm0 < 5
    for k in NAMES:
        np.testing.assert_array_equal(clipped[k], grads[k])


# ---------------------------------------------------------------------- optimizers


def _params_and_grads(seed):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    g1 = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    g2 = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    return params, g1, g2


def test_adagrad_updates_the_very_arrays_in_params():
    """Adagrad: p -= lr g / sqrt(sum of g^2 + eps), entry by entry, in place, memory accumulating."""
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
    """SGD: p -= lr g, in place, on the arrays the caller holds."""
    params, g1, g2 = _params_and_grads(42)
    arrays = dict(params)
    start = {k: v.copy() for k, v in params.items()}
    opt = core.SGD(params, learning_rate=0.05)
    opt.step(g1)
    opt.step(g2)
    for k in NAMES:
        assert params[k] is arrays[k]
        np.testing.assert_allclose(params[k], start[k] - 0.05 * g1[k] - 0.05 * g2[k], rtol=1e-12)
