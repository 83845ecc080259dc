"""Unit tests of training, sampling and evaluation in charrnn_core: train, warm_up,
sample, generate, evaluate (for the RNN; the LSTM's are in test_lstm.py).

Training is checked against the gist's loop written out by hand, sampling against
softmax(y / temperature) computed here, evaluation against forward's loss."""

import hashlib
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import charrnn_core as core
from conftest import TINY, lstm_case, random_case, subprocess_env

NAMES = core.PARAM_NAMES


def _step(params, ix, h):
    """One RNN step, written here: tanh(Wxh[:, ix] + Whh h + bh)."""
    return np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h + params["bh"])


# ------------------------------------------------------------------------ training


def test_training_is_deterministic_for_a_seed(tiny_text):
    """The same seed gives the same losses and params; another seed gives other losses."""
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
    """Two fresh processes train and sample to the same hash as this one, bit for bit."""
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
    """200 updates lower the loss; the smoothed loss starts at T ln V and keeps falling."""
    r = core.train(tiny_text, hidden_size=32, seq_length=25, num_iters=200, seed=0)
    V = r.vocab.size
    assert r.losses.shape == r.smooth_losses.shape == (200,)
    assert r.smooth_losses[0] == pytest.approx(0.999 * 25 * math.log(V) + 0.001 * r.losses[0])
    assert np.all(np.diff(r.smooth_losses[50:]) < 0)  # the smoothed loss keeps going down
    assert r.losses[-20:].mean() < 0.8 * r.losses[:20].mean()
    assert r.hprev.shape == (32, 1)


def test_train_follows_the_gist_loop_written_out_by_hand(tiny_text):
    """train equals the loop spelled out: B streams, carried and reset states, mean, clip, Adagrad."""
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
    """One SGD step at lr 1 moves the params by exactly the (elementwise or global) clipped gradient."""
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
    """On 'abcd' repeated, the trained model's most likely next character is the next one."""
    # "abcd" repeated: after training, the most likely character after each one is the
    # NEXT one in the text (a model trained on shifted targets would say the same one).
    r = core.train("abcd" * 100, hidden_size=8, seq_length=8, num_iters=150, seed=0)
    assert r.losses[-10:].mean() < 0.5
    for prime in "abcd":
        text = core.generate(r.params, r.vocab, prime, 8, np.random.default_rng(0), temperature=0.1)
        want = ("abcd" * 4)["abcd".index(prime):][:9]
        assert text == want


def test_batched_training_averages_over_streams():
    """Two identical streams (s + s, B=2) train exactly like one stream (s, B=1)."""
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
    """Training with B=4 and global clipping lowers the loss and returns (H, B) states."""
    r = core.train(tiny_text, hidden_size=16, seq_length=10, num_iters=100, batch_size=4, seed=0,
                   clip_mode="global")
    assert r.losses.shape == (100,) and r.hprev.shape == (16, 4)
    assert r.losses[-10:].mean() < 0.85 * r.losses[:10].mean()


def test_sgd_training_with_global_clipping_runs(tiny_text):
    """optimizer='sgd' with global clipping gives finite losses."""
    r = core.train(tiny_text, hidden_size=8, seq_length=10, num_iters=30, optimizer="sgd",
                   learning_rate=0.05, clip=1.0, clip_mode="global")
    assert np.all(np.isfinite(r.losses))


def test_callback_sees_every_iteration_and_the_live_params(tiny_text):
    """The callback gets every update's loss, the live params, and the gradients before and after clipping."""
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
    """train(params=...) keeps training the very arrays it was given."""
    first = core.train(tiny_text, hidden_size=8, seq_length=10, num_iters=20, seed=0)
    start = {k: v.copy() for k, v in first.params.items()}
    more = core.train(tiny_text, num_iters=5, params=first.params, vocab=first.vocab)
    assert more.params is first.params
    assert all(not np.array_equal(start[k], more.params[k]) for k in ("Why", "by"))


def test_absurd_learning_rate_raises_training_diverged(tiny_text):
    """learning_rate=1e6 raises TrainingDiverged naming it, with no NumPy warning on the way."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no numpy RuntimeWarning on the way
        with pytest.raises(core.TrainingDiverged, match=r"learning_rate=1000000\.0"):
            core.train(tiny_text, hidden_size=8, seq_length=10, learning_rate=1e6, clip=None,
                       num_iters=50)
    assert issubclass(core.TrainingDiverged, ArithmeticError)


# ------------------------------------------------------------------- warm_up


def test_warm_up_runs_the_recurrence_over_the_ids():
    """warm_up(params, ids, h) is the hidden state after the steps written out here."""
    params, ids, _, h = random_case(V=5, H=4, T=6, seed=81, scale=0.5)
    want = h
    for ix in ids:
        want = _step(params, ix, want)
    np.testing.assert_allclose(core.warm_up(params, ids, h), want, rtol=1e-13)
    np.testing.assert_array_equal(core.warm_up(params, [], h), h)


def test_warm_up_of_an_lstm_carries_h_and_c():
    """For LSTM params warm_up takes and returns the pair (h, c), as lstm_forward computes them."""
    params, ids, targets, h, c = lstm_case(V=5, H=4, T=6, seed=82)
    got_h, got_c = core.warm_up(params, ids, (h, c))
    _, cache = core.lstm_forward(params, ids, targets, h, c)
    np.testing.assert_allclose(got_h, cache[2][5], rtol=1e-13)
    np.testing.assert_allclose(got_c, cache[3][5], rtol=1e-13)


# ------------------------------------------------------------------- sampling


def _sampling_params(seed=75):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in core.param_shapes(4, 3).items()}
    return params, 0.3 * rng.standard_normal((3, 1))


def test_sampling_is_reproducible_with_a_seed_and_differs_with_another():
    """The same rng seed gives the same ids, another seed other ids; n=0 gives []."""
    params, h = _sampling_params()
    a = core.sample(params, h, 0, 60, np.random.default_rng(7))
    b = core.sample(params, h, 0, 60, np.random.default_rng(7))
    c = core.sample(params, h, 0, 60, np.random.default_rng(8))
    assert a == b and a != c
    assert len(a) == 60 and all(type(i) is int and 0 <= i < 4 for i in a)
    assert core.sample(params, h, 0, 0, np.random.default_rng(7)) == []


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampled_frequencies_follow_softmax_of_logits_over_temperature(temperature):
    """4000 first draws follow softmax(y / temperature) computed here, within 0.035."""
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
    """generate = prime + sample from the state after the prime's other characters."""
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


def test_sampling_at_the_smallest_temperature_is_greedy_and_warns_nothing():
    """temperature 5e-324: every draw is the argmax of the logits, no NaN, no RuntimeWarning."""
    params, h = _sampling_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids = core.sample(params, h, 2, 30, np.random.default_rng(0), temperature=5e-324)
    state, ix = h, 2
    for got in ids:
        state = _step(params, ix, state)
        ix = int(np.argmax(params["Why"] @ state + params["by"]))
        assert got == ix


# ------------------------------------------------------------------- evaluate


def test_evaluate_one_stream_is_the_mean_of_forward_losses_with_carried_state():
    """evaluate is forward's loss per prediction, one stream or two halves from zero states."""
    params, ids, _, _ = random_case(V=6, H=4, T=40, seed=3)
    loss, _ = core.forward(params, ids[:-1], ids[1:], np.zeros((4, 1)))
    assert abs(core.evaluate(params, ids, streams=1) - loss / 39) < 1e-12
    # two streams: each half is read from a zero state, and both halves are predicted
    a, _ = core.forward(params, ids[:19], ids[1:20], np.zeros((4, 1)))
    b, _ = core.forward(params, ids[20:39], ids[21:40], np.zeros((4, 1)))
    assert abs(core.evaluate(params, ids, streams=2) - (a + b) / 38) < 1e-12


def test_batch_streams_cuts_the_text_into_b_contiguous_columns():
    """Column b of batch_streams is data[b * (N // B):(b + 1) * (N // B)]; the tail is dropped."""
    data = np.arange(23)
    x = core.batch_streams(data, 3, 4)
    assert x.shape == (7, 3)
    for b in range(3):
        np.testing.assert_array_equal(x[:, b], data[b * 7:(b + 1) * 7])
    np.testing.assert_array_equal(core.batch_streams(data, 1, 4)[:, 0], data)


def test_sampling_from_huge_finite_weights_gives_the_greedy_ids_without_warnings():
    """Why * 1e307 overflows the logits to inf: sampling still gives valid ids, no NaN, no warning."""
    import warnings
    params = core.init_params(5, 4, np.random.default_rng(0), scale=1.0)
    params["Why"] *= 1e307
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids = core.sample(params, np.zeros((4, 1)), 0, 50, np.random.default_rng(1))
    h, greedy = np.zeros((4, 1)), []
    ix = 0
    for _ in range(50):  # the most likely character each time, computed without softmax
        h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h + params["bh"])
        ix = int(np.argmax(np.nan_to_num(params["Why"] @ h + params["by"])))
        greedy.append(ix)
    assert ids == greedy
