"""Unit tests of the LSTM in charrnn_core: against finite differences, a case worked
out with scalar arithmetic, the per-sequence version, and the RNN's own machinery.
(The LSTM's checkpoints are in test_checkpoints.py, its command line in test_cli.py.)"""

import math

import numpy as np
import pytest

import charrnn_core as core
from conftest import centered_differences, lstm_case, normwise_error

NAMES = core.LSTM_PARAM_NAMES


def fn_for(batched):
    return core.lstm_loss_and_grads_batch if batched else core.lstm_loss_and_grads


# ----------------------------------------------------------------------- parameters


def test_lstm_init_params_shapes_gate_order_and_forget_bias():
    """lstm_init_params: 4H gate rows i, f, o, g; only the forget gate's bias starts at 1."""
    p = core.lstm_init_params(7, 5, np.random.default_rng(0))
    assert {k: v.shape for k, v in p.items()} == core.lstm_param_shapes(7, 5)
    assert core.lstm_param_shapes(7, 5) == {"Wx": (20, 7), "Wh": (20, 5), "b": (20, 1),
                                            "Why": (7, 5), "by": (7, 1)}
    # gate rows i, f, o, g: only the forget gate (rows 5..9) starts with bias 1
    assert np.all(p["b"][5:10] == 1) and np.all(p["b"][:5] == 0) and np.all(p["b"][10:] == 0)
    assert np.all(p["by"] == 0)
    assert 0.005 < p["Wx"].std() < 0.015
    assert core.cell_of(p) == "lstm" and core.check_params(p) == (7, 5)


def test_lstm_cell_gates_follow_the_equations():
    """lstm_cell's gates, c and h equal the equations with sigmoid = 1 / (1 + exp(-z))."""
    # one step written with explicit sigmoid = 1 / (1 + exp(-z)), not the core's tanh form
    params, _, _, h, c = lstm_case(V=3, H=2, T=1, seed=3)
    z = params["Wx"][:, [1]] + params["Wh"] @ h + params["b"]
    s = 1 / (1 + np.exp(-z))
    i, f, o, g = s[0:2], s[2:4], s[4:6], np.tanh(z[6:8])
    c_new = f * c + i * g
    h_new, c_got, gates, tanh_c = core.lstm_cell(params, [1], h, c)
    assert np.allclose(c_got, c_new, rtol=1e-14) and np.allclose(h_new, o * np.tanh(c_new), rtol=1e-14)
    assert np.allclose(gates, np.vstack([i, f, o, g]), rtol=1e-14)


# -------------------------------------------------- gradients vs finite differences


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_lstm_gradient_entry_matches_finite_differences(seed, batched):
    """Every LSTM gradient entry that is not rounding noise is within 1e-7 (relative) of finite differences."""
    params, inputs, targets, h, c = lstm_case(V=5, H=4, T=6, seed=seed, B=3 if batched else None)
    fn = fn_for(batched)
    _, grads, _, _ = fn(params, inputs, targets, h, c)
    for k in NAMES:
        num = centered_differences(lambda: fn(params, inputs, targets, h, c)[0], params[k])
        ana = grads[k]
        rel = np.abs(ana - num) / np.maximum(np.abs(ana) + np.abs(num), 1e-300)
        not_tiny = np.abs(num) > 1e-3   # below, the loss's rounding noise / 2h (~1e-10) shows
        assert not_tiny.sum() > 0.5 * num.size, k
        assert rel[not_tiny].max() < 1e-7, f"{k}: {rel[not_tiny].max():.1e}"
        assert np.abs(ana - num)[~not_tiny].max(initial=0) < 1e-9, k


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
def test_lstm_gradients_match_finite_differences_normwise_for_many_seeds(batched):
    """Over 8 seeds every LSTM gradient is within 1e-8 (norm-wise) of conftest's centred differences."""
    fn = fn_for(batched)
    for seed in range(8):
        params, inputs, targets, h, c = lstm_case(V=4, H=3, T=5, seed=100 + seed,
                                                  B=2 if batched else None)
        _, grads, _, _ = fn(params, inputs, targets, h, c)
        for k in NAMES:
            num = centered_differences(lambda: fn(params, inputs, targets, h, c)[0], params[k])
            err = normwise_error(grads[k], num)
            assert err < 1e-8, f"seed {seed}, {k}: {err:.2e}"


def test_grad_check_handles_lstm_params_with_the_state_pair():
    """grad_check takes LSTM params with the state as the pair (h, c) and passes."""
    params, inputs, targets, h, c = lstm_case(V=4, H=3, T=5, seed=9)
    errors = core.grad_check(params, inputs, targets, (h, c))
    assert set(errors) == set(NAMES) and max(errors.values()) < 1e-6


def test_the_cell_gradients_reach_cprev_and_hprev_as_finite_differences_say():
    """dL/dc_{-1} = f_0 * dL/dc_0, and dhs[t] is the whole gradient reaching h_t, as finite differences say."""
    # dL/dc_{-1} = f_0 * dL/dc_0 (the cell path), and dL/dh_{-1} = Wh^T dz_0
    params, inputs, targets, h, c = lstm_case(V=4, H=3, T=6, seed=21)
    _, cache = core.lstm_forward(params, inputs, targets, h, c)
    _, dhs, dcs = core.lstm_backward(params, cache)
    f0 = cache[4][0][3:6]
    num_c = centered_differences(lambda: core.lstm_forward(params, inputs, targets, h, c)[0], c)
    assert normwise_error(f0 * dcs[0][:, None], num_c) < 1e-8
    # dhs[t] is the whole gradient reaching h_t: check t = 2 by nudging h_2 through a restart
    h2, c2 = cache[2][2], cache[3][2]
    num_h2 = centered_differences(
        lambda: core.lstm_forward(params, inputs[3:], targets[3:], h2, c2)[0], h2)
    p2 = core.softmax(params["Why"] @ h2 + params["by"])
    dy2 = p2.copy()
    dy2[targets[2]] -= 1
    assert normwise_error(dhs[2][:, None], num_h2 + params["Why"].T @ dy2) < 1e-8


# ------------------------------------------------------------ a case done on paper


def sig(z):
    return 1 / (1 + math.exp(-z))


def lstm_hand_case():
    """V=2, H=1, T=2, inputs [0, 1], targets [1, 0], h_{-1} = 0.3, c_{-1} = -0.5:
    the loss and every gradient with scalar arithmetic (chain rule on paper)."""
    wx = [[0.4, -0.2], [0.3, 0.6], [-0.5, 0.2], [0.7, -0.8]]   # rows i, f, o, g; columns = inputs
    wh = [0.2, -0.3, 0.5, 0.4]
    bb = [0.1, 1.0, -0.2, 0.05]
    u0, u1 = 0.9, -1.1                                          # Why
    e0, e1 = 0.1, -0.2                                          # by
    hp, cp = 0.3, -0.5

    def step(x, h, c):
        zi, zf, zo, zg = (wx[r][x] + wh[r] * h + bb[r] for r in range(4))
        i, f, o, g = sig(zi), sig(zf), sig(zo), math.tanh(zg)
        c_new = f * c + i * g
        return i, f, o, g, c_new, o * math.tanh(c_new)

    def probs(h):
        a, b = math.exp(u0 * h + e0), math.exp(u1 * h + e1)
        return a / (a + b), b / (a + b)

    i0, f0, o0, g0, c0, h0 = step(0, hp, cp)
    i1, f1, o1, g1, c1, h1 = step(1, h0, c0)
    p00, p01 = probs(h0)
    p10, p11 = probs(h1)
    loss = -math.log(p01) - math.log(p10)

    dy00, dy01 = p00, p01 - 1
    dy10, dy11 = p10 - 1, p11
    # step 1
    dh1 = u0 * dy10 + u1 * dy11
    dc1 = dh1 * o1 * (1 - math.tanh(c1) ** 2)
    dz1 = [dc1 * g1 * i1 * (1 - i1), dc1 * c0 * f1 * (1 - f1),
           dh1 * math.tanh(c1) * o1 * (1 - o1), dc1 * i1 * (1 - g1 ** 2)]
    # step 0: h0 feeds y0 and the gates of step 1; c0 feeds h0 and c1 (times f1)
    dh0 = u0 * dy00 + u1 * dy01 + sum(wh[r] * dz1[r] for r in range(4))
    dc0 = dh0 * o0 * (1 - math.tanh(c0) ** 2) + dc1 * f1
    dz0 = [dc0 * g0 * i0 * (1 - i0), dc0 * cp * f0 * (1 - f0),
           dh0 * math.tanh(c0) * o0 * (1 - o0), dc0 * i0 * (1 - g0 ** 2)]
    grads = {
        "Wx": [[dz0[r], dz1[r]] for r in range(4)],
        "Wh": [[dz0[r] * hp + dz1[r] * h0] for r in range(4)],
        "b": [[dz0[r] + dz1[r]] for r in range(4)],
        "Why": [[dy00 * h0 + dy10 * h1], [dy01 * h0 + dy11 * h1]],
        "by": [[dy00 + dy10], [dy01 + dy11]],
    }
    params = {"Wx": wx, "Wh": [[w] for w in wh], "b": [[x] for x in bb],
              "Why": [[u0], [u1]], "by": [[e0], [e1]]}
    as_arrays = lambda d: {k: np.array(v, dtype=np.float64) for k, v in d.items()}  # noqa: E731
    return (as_arrays(params), [0, 1], [1, 0], np.array([[hp]]), np.array([[cp]]), loss,
            as_arrays(grads), h1, c1)


@pytest.mark.parametrize("batched", [False, True], ids=["per-step", "batched"])
def test_lstm_loss_and_grads_match_a_case_computed_by_hand(batched):
    """LSTM loss, every gradient, h_last and c_last equal the chain rule worked out with scalars."""
    params, inputs, targets, h, c, loss, grads, h1, c1 = lstm_hand_case()
    if batched:
        col = lambda s: np.asarray(s)[:, None]  # noqa: E731
        got_loss, got, got_h, got_c = core.lstm_loss_and_grads_batch(params, col(inputs),
                                                                     col(targets), h, c)
    else:
        got_loss, got, got_h, got_c = core.lstm_loss_and_grads(params, np.array(inputs),
                                                               np.array(targets), h, c)
    assert got_loss == pytest.approx(loss, rel=1e-12)
    for k in NAMES:
        assert np.allclose(got[k], grads[k], rtol=1e-10, atol=1e-14), k
    assert got_h[0, 0] == pytest.approx(h1, rel=1e-12) and got_c[0, 0] == pytest.approx(c1, rel=1e-12)


# ------------------------------------------------------ states carried, batches


def test_h_last_and_c_last_carry_the_sequence_on():
    """Running 8 steps equals running 5 and then 3 from the returned (h, c); the cell state matters."""
    # running 8 steps at once = running 5, then 3 more from the returned (h, c)
    params, inputs, targets, h, c = lstm_case(V=4, H=3, T=8, seed=5)
    whole, _, h_end, c_end = core.lstm_loss_and_grads(params, inputs, targets, h, c)
    first, _, h5, c5 = core.lstm_loss_and_grads(params, inputs[:5], targets[:5], h, c)
    second, _, h_end2, c_end2 = core.lstm_loss_and_grads(params, inputs[5:], targets[5:], h5, c5)
    assert whole == pytest.approx(first + second, rel=1e-13)
    assert np.allclose(h_end, h_end2, rtol=1e-13) and np.allclose(c_end, c_end2, rtol=1e-13)
    # restarting the second part from a zero cell state changes it: c matters
    other, _, _, _ = core.lstm_loss_and_grads(params, inputs[5:], targets[5:], h5, 0 * c5)
    assert abs(other - second) > 1e-6


def test_lstm_batch_is_the_sum_of_per_sequence_calls():
    """An LSTM batch's loss and gradients are the sums over its columns run one at a time."""
    params, inputs, targets, h, c = lstm_case(V=5, H=4, T=7, seed=11, B=3)
    loss, grads, h_last, c_last = core.lstm_loss_and_grads_batch(params, inputs, targets, h, c)
    total, summed = 0.0, {k: 0 for k in NAMES}
    for b in range(3):
        lb, gb, hb, cb = core.lstm_loss_and_grads(params, inputs[:, b], targets[:, b],
                                                  h[:, [b]], c[:, [b]])
        total += lb
        summed = {k: summed[k] + gb[k] for k in NAMES}
        assert np.allclose(hb[:, 0], h_last[:, b], rtol=1e-12)
        assert np.allclose(cb[:, 0], c_last[:, b], rtol=1e-12)
    assert loss == pytest.approx(total, rel=1e-12)
    for k in NAMES:
        assert np.allclose(grads[k], summed[k], rtol=1e-10, atol=1e-13), k


def test_lstm_loss_and_grads_do_not_modify_their_arguments():
    """The batched LSTM pass changes neither params nor the states."""
    params, inputs, targets, h, c = lstm_case(V=4, H=3, T=5, seed=2, B=2)
    before = {k: v.copy() for k, v in params.items()}, h.copy(), c.copy()
    core.lstm_loss_and_grads_batch(params, inputs, targets, h, c)
    assert all(np.array_equal(params[k], before[0][k]) for k in NAMES)
    assert np.array_equal(h, before[1]) and np.array_equal(c, before[2])


def test_lstm_functions_refuse_bad_states_and_shapes():
    """A cprev of the wrong shape and an LSTM Wh that does not fit are named."""
    params, inputs, targets, h, _ = lstm_case(V=4, H=3, T=5, seed=2)
    with pytest.raises(ValueError, match="cprev"):
        core.lstm_loss_and_grads(params, inputs, targets, h, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Wh"):
        core.check_params({**params, "Wh": np.zeros((12, 4))})


def test_lstm_state_grad_norms_of_the_last_step_pass_the_cell_path():
    """Forget gates near 1 keep ||dL/dc_t|| going back in time; near 0 it vanishes."""
    # forget gates pinned near 1 (bias 10), no input: ||dL/dc_t|| barely shrinks going back
    rng = np.random.default_rng(0)
    params = core.lstm_init_params(4, 6, rng, forget_bias=10.0)
    inputs, targets = rng.integers(0, 4, 30), rng.integers(0, 4, 30)
    z = np.zeros((6, 1))
    dh, dc = core.lstm_state_grad_norms(params, inputs, targets, z, z)
    assert dc[0] > 0.99 * dc[-1] > 0
    # while through h alone (forget bias -10) it vanishes like the RNN's
    params["b"][6:12] = -10.0
    dh, dc = core.lstm_state_grad_norms(params, inputs, targets, z, z)
    assert dc[0] < 1e-20 * dc[-1]


# ------------------------------------------------ training, sampling, checkpoints


def test_lstm_training_lowers_the_loss_and_is_deterministic(tiny_text):
    """train(cell='lstm') lowers the loss, gives the same params for a seed, and returns (h, c)."""
    run = lambda: core.train(tiny_text, hidden_size=16, num_iters=300, batch_size=4,  # noqa: E731
                             seed=3, cell="lstm")
    a, b = run(), run()
    assert a.smooth_losses[-1] < a.smooth_losses[0] - 2
    assert a.losses[-50:].mean() < 0.8 * a.losses[:50].mean()
    assert all(np.array_equal(a.params[k], b.params[k]) for k in NAMES)
    assert core.cell_of(a.params) == "lstm" and a.cprev.shape == a.hprev.shape == (16, 4)


def test_lstm_training_carries_h_and_c_between_windows(tiny_text):
    """Two SGD windows written out by hand: the second starts from the first's (h, c)."""
    # the loop written out for two windows: the second starts from the first's (h, c)
    vocab = core.Vocab.from_text(tiny_text)
    result = core.train(tiny_text, hidden_size=5, seq_length=6, num_iters=2, seed=1, clip=None,
                        cell="lstm", optimizer="sgd", learning_rate=0.5)
    params = core.lstm_init_params(vocab.size, 5, np.random.default_rng(1))
    data = vocab.encode(tiny_text)
    h = c = np.zeros((5, 1))
    for p in (0, 6):
        _, grads, h, c = core.lstm_loss_and_grads(params, data[p:p + 6], data[p + 1:p + 7], h, c)
        params = {k: v - 0.5 * grads[k] for k, v in params.items()}
    assert all(np.allclose(result.params[k], params[k], rtol=1e-12, atol=1e-15) for k in NAMES)
    assert np.allclose(result.cprev, c, rtol=1e-12)


def test_train_refuses_a_cell_that_does_not_match_the_params(tiny_text):
    """train refuses RNN params with cell='lstm' and an unknown cell name."""
    rnn = core.init_params(core.Vocab.from_text(tiny_text).size, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="RNN parameters but cell='lstm'"):
        core.train(tiny_text, num_iters=1, params=rnn, cell="lstm")
    with pytest.raises(ValueError, match="cell must be"):
        core.train(tiny_text, num_iters=1, cell="gru")


def test_evaluate_an_lstm_with_one_stream_is_the_mean_of_forward_losses():
    """evaluate(streams=1) of an LSTM is lstm_forward's loss divided by the number of predictions."""
    params, inputs, _, _, _ = lstm_case(V=4, H=3, T=40, seed=8, scale=0.3)
    z = np.zeros((3, 1))
    loss, _ = core.lstm_forward(params, inputs[:-1], inputs[1:], z, z)
    assert core.evaluate(params, inputs, streams=1) == pytest.approx(loss / 39, rel=1e-12)


def test_lstm_sampling_at_a_low_temperature_follows_the_forward_pass():
    """At temperature 0.01 each sampled id is the argmax of lstm_forward's distribution; h alone is refused."""
    # temperature 0.01: each draw is the argmax of the LSTM's own next-character distribution
    params, _, _, _, _ = lstm_case(V=5, H=4, T=1, seed=12, scale=1.0)
    vocab = core.Vocab("abcde")
    text = core.generate(params, vocab, "ab", 10, np.random.default_rng(0), temperature=0.01)
    ids = vocab.encode(text)
    z = np.zeros((4, 1))
    _, cache = core.lstm_forward(params, ids[:-1], ids[1:], z, z)
    ps = cache[6]
    assert all(ids[t + 1] == np.argmax(ps[t]) for t in range(1, len(ids) - 1))
    with pytest.raises(ValueError, match="pair"):
        core.sample(params, z, 0, 3, np.random.default_rng(0))
