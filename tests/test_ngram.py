"""The n-gram baseline in charrnn_core: counts checked against collections.Counter,
smoothed probabilities and held-out loss against cases worked by hand."""

import math
from collections import Counter

import numpy as np
import pytest

import charrnn_core as core


@pytest.fixture(scope="module")
def tiny(tiny_text):
    """The tiny text's vocabulary and its ids."""
    vocab = core.Vocab.from_text(tiny_text)
    return vocab, vocab.encode(tiny_text)


def test_counts_match_counter_on_tiny_text(tiny):
    """Pair and context counts of every length equal collections.Counter's on the tiny text."""
    vocab, ids = tiny
    counts = core.ngram_counts(ids, 3, vocab.size)
    V = vocab.size
    for j in range(3):
        windows = Counter(tuple(ids[i:i + j + 1]) for i in range(len(ids) - j))
        decoded = {}
        for code, c in zip(counts.pairs[j], counts.pair_counts[j]):
            digits = [(int(code) // V ** (j - i)) % V for i in range(j + 1)]
            decoded[tuple(digits)] = int(c)
        assert decoded == windows
        followers = Counter()
        for w, c in windows.items():
            followers[w[:-1]] += c
        ctx_total = dict(zip(counts.contexts[j].tolist(), counts.context_counts[j].tolist()))
        for ctx, c in followers.items():
            code = sum(int(x) * V ** (j - 1 - i) for i, x in enumerate(ctx))
            assert ctx_total[code] == c


# The text "abab b" as ids [0, 1, 0, 1, 1] with V = 2, worked by hand:
# unigrams 0: 2, 1: 3 (of 5); bigrams (0,1): 2, (1,0): 1, (1,1): 1.
HAND = np.array([0, 1, 0, 1, 1])


def test_add_k_matches_counts_worked_by_hand():
    """add-k probabilities after 0, after 1 and with no context equal the hand-computed fractions."""
    counts = core.ngram_counts(HAND, 2, 2)
    # after 0: (count(0 1) + 1) / (count(0) + 1 * 2) = 3/4 for 1, 1/4 for 0
    assert np.allclose(core.ngram_probs(counts, [0], smoothing="add-k", k=1), [1 / 4, 3 / 4])
    # after 1: (1 + 1) / (2 + 2) each
    assert np.allclose(core.ngram_probs(counts, [1], smoothing="add-k", k=1), [1 / 2, 1 / 2])
    # no context (the unigram model), k = 0.5: (2.5 / 6, 3.5 / 6)
    assert np.allclose(core.ngram_probs(counts, [], n=1, smoothing="add-k", k=0.5), [2.5 / 6, 3.5 / 6])


def test_interpolated_matches_counts_worked_by_hand():
    """Interpolated absolute discounting and its loss equal the hand-computed values."""
    counts = core.ngram_counts(HAND, 2, 2)
    d = 0.5
    # unigram: (max(count - d, 0) + d * 2 types * 1/2) / 5  ->  0: 2/5, 1: 3/5
    assert np.allclose(core.ngram_probs(counts, [], n=1, discount=d), [0.4, 0.6])
    # after 0 (seen twice, followed by 1 type): 1: (1.5 + 0.5 * 0.6) / 2, 0: (0 + 0.5 * 0.4) / 2
    assert np.allclose(core.ngram_probs(counts, [0], discount=d), [0.1, 0.9])
    # after 1 (seen twice, 2 types): 0: (0.5 + 1 * 0.4) / 2, 1: (0.5 + 1 * 0.6) / 2
    assert np.allclose(core.ngram_probs(counts, [1], discount=d), [0.45, 0.55])
    # the held-out loss of "0 1 1": -(log p(1|0) + log p(1|1)) / 2
    assert math.isclose(core.ngram_loss(counts, [0, 1, 1], discount=d),
                        -(math.log(0.9) + math.log(0.55)) / 2, rel_tol=1e-12)


def test_kneser_ney_matches_counts_worked_by_hand():
    """Interpolated Kneser-Ney: the lower order counts the distinct characters before a string."""
    counts = core.ngram_counts([0, 1, 2, 1], 2, 3)   # "abcb": bigrams ab, bc, cb, once each
    d = 0.5
    # unigram as the lower order: continuation counts N(. a) = 0, N(. b) = 2 (ab, cb), N(. c) = 1,
    # 3 in all, 2 types: a: (0 + 0.5 * 2 / 3) / 3 = 1/9, b: (1.5 + 1/3) / 3 = 11/18, c: (0.5 + 1/3) / 3
    lower = np.array([1 / 9, 11 / 18, 5 / 18])
    # after b (seen once, followed by c): c: (0.5 + 0.5 * 5/18) / 1, a: 0.5 / 9, b: 0.5 * 11/18
    assert np.allclose(core.ngram_probs(counts, [1], smoothing="kneser-ney", discount=d),
                       [0.5 * lower[0], 0.5 * lower[1], 0.5 + 0.5 * lower[2]], rtol=1e-12, atol=0)
    # absolute discounting uses the raw counts instead (a 1, b 2, c 1): after b, c gets 0.5 + 0.5 / 4
    assert np.allclose(core.ngram_probs(counts, [1], discount=d), [0.125, 0.25, 0.625])
    # the top order of a unigram model is counted as usual: a 1, b 2, c 1 of 4
    assert np.allclose(core.ngram_probs(counts, [], n=1, smoothing="kneser-ney", discount=d),
                       core.ngram_probs(counts, [], n=1, discount=d))


@pytest.mark.parametrize("smoothing", ["interpolated", "kneser-ney", "add-k"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_probabilities_sum_to_one_for_seen_and_unseen_contexts(tiny, smoothing, n):
    """For every order and smoothing, p is positive and sums to 1, also after an unseen context."""
    vocab, ids = tiny
    counts = core.ngram_counts(ids, 4, vocab.size)
    rng = np.random.default_rng(0)
    contexts = [ids[:0], ids[:1], ids[100:110], rng.integers(0, vocab.size, 6)]  # the last: unseen
    for ctx in contexts:
        p = core.ngram_probs(counts, ctx, n=n, smoothing=smoothing, k=0.3)
        assert p.shape == (vocab.size,)
        assert np.all(p > 0)
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-12)


def test_unseen_context_falls_back(tiny):
    """An unseen context gives 1/V (add-k) or the longest seen context's estimate (interpolated)."""
    vocab, ids = tiny
    counts = core.ngram_counts(ids, 3, vocab.size)
    unseen = vocab.encode("yy")  # "yy" never occurs in the tiny text, "y" does
    assert "yy" not in vocab.decode(ids) and "y" in vocab.decode(ids)
    # add-k: nothing is known about the context, so every character gets 1/V
    assert np.allclose(core.ngram_probs(counts, unseen, smoothing="add-k"), 1 / vocab.size)
    # interpolated: the model uses the longest context it has seen ("y"), as the bigram model does
    assert np.allclose(core.ngram_probs(counts, unseen), core.ngram_probs(counts, unseen[-1:], n=2))


def test_loss_is_the_mean_surprise_of_each_next_character(tiny):
    """ngram_loss is the mean of -log ngram_probs(prefix)[next] over the held-out text."""
    vocab, ids = tiny
    counts = core.ngram_counts(ids[:1500], 3, vocab.size)
    held = ids[1500:1700]
    for smoothing in ("interpolated", "add-k"):
        by_hand = [-math.log(core.ngram_probs(counts, held[:t], smoothing=smoothing)[held[t]])
                   for t in range(1, len(held))]
        assert math.isclose(core.ngram_loss(counts, held, smoothing=smoothing), np.mean(by_hand),
                            rel_tol=1e-12)


def test_longer_contexts_fit_the_training_text_better(tiny):
    """On its own training text the loss falls with n; counts of order 4 give the unigram loss too."""
    vocab, ids = tiny
    counts = core.ngram_counts(ids, 4, vocab.size)
    losses = [core.ngram_loss(counts, ids, n=n) for n in (1, 2, 3, 4)]
    assert losses == sorted(losses, reverse=True)
    assert math.isclose(core.ngram_loss(core.ngram_counts(ids, 1, vocab.size), ids),
                        core.ngram_loss(counts, ids, n=1), rel_tol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda c: core.ngram_counts([0, 1], 0, 2), "n must be a positive integer"),
    (lambda c: core.ngram_counts([0, 2], 1, 2), "ids\\[1\\] is 2, outside the ids"),
    (lambda c: core.ngram_counts([0.0, 1.0], 1, 2), "ids must be a 1-d array"),
    (lambda c: core.ngram_counts([0, 1], 3, 2), "ids must be a 1-d array of at least 3"),
    (lambda c: core.ngram_counts([0, 1] * 20, 12, 80), "n=12 is too large"),
    (lambda c: core.ngram_counts([0, 1] * 25, 40, np.int64(3)), "n=40 is too large"),  # no wrap
    (lambda c: core.ngram_counts([0, 1] * 20, 10**7, 2), "n=10000000 is too large"),
    (lambda c: core.ngram_probs(c, [0], n=3), r"n must be an integer in \[1, 2\], got 3"),
    (lambda c: core.ngram_probs(c, [5]), "context\\[0\\] is 5, outside"),
    (lambda c: core.ngram_probs(c, [0], smoothing="kneser"), "smoothing must be"),
    (lambda c: core.ngram_probs(c, [0], smoothing="add-k", k=0), "k must be a finite number > 0"),
    (lambda c: core.ngram_loss(c, [0, 1], discount=1.5), r"discount must be a finite number in \(0, 1\]"),
    (lambda c: core.ngram_loss(c, [0]), "ids must be a 1-d array of at least 2"),
    (lambda c: core.ngram_loss({"n": 2}, [0, 1]), "counts must be an NGramCounts"),
])
def test_bad_arguments_are_named(call, message):
    """Bad counts, ids, contexts, orders and options raise an error that names them (no overflow wrap)."""
    counts = core.ngram_counts(HAND, 2, 2)
    with pytest.raises((ValueError, TypeError), match=message):
        call(counts)


def test_numpy_numbers_are_accepted_as_options():
    """NumPy ints and floats are accepted for k and discount, giving the Python number's result."""
    counts = core.ngram_counts(HAND, 2, 2)
    for k in (np.float32(0.5), np.float64(0.5), np.int64(1)):
        assert np.allclose(core.ngram_probs(counts, [0], smoothing="add-k", k=k),
                           core.ngram_probs(counts, [0], smoothing="add-k", k=float(k)))
    for d in (np.float32(0.5), np.float64(0.5)):
        assert math.isclose(core.ngram_loss(counts, [0, 1, 1], discount=d),
                            core.ngram_loss(counts, [0, 1, 1], discount=0.5), rel_tol=1e-6)
