"""Bad arguments to the library get ONE ValueError or TypeError whose message names the
argument, never a deep NumPy traceback, an OverflowError, a KeyError or a silent wrong
answer (a bool read as 1, a NumPy int that wraps around, NaN weights).

The first table tries every public function that takes numbers or ids with values of
every kind (bools, strings, None, floats where an int is wanted, NaN and infinities,
negative numbers, NumPy ints, uints, floats and bools, complex numbers, timedeltas); the
second, arguments of the wrong kind of object or shape."""

import math
import re

import numpy as np
import pytest

import charrnn_core as core
import charrnn_io as cio
from conftest import TINY, lstm_case

RNN = core.init_params(4, 3, np.random.default_rng(0), scale=0.1)
LSTM = lstm_case(V=4, H=3, T=1, seed=0)[0]
VOCAB = core.Vocab("abcd")
H0 = np.zeros((3, 1))
IDS = np.array([0, 1, 2, 3, 0, 1, 2, 3])
TEXT = "abcd" * 20
COUNTS = core.ngram_counts(IDS, 2, 4)


def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------ values of every kind

COMMON = [True, np.bool_(True), "3", None, [2], 1j, np.complex128(2), np.timedelta64(2),
          math.nan, math.inf, -1, np.int64(-1)]
POSITIVE_INT = COMMON + [0, np.uint64(0), 2.0, 2.5, np.float32(2.0), np.float64(2.0)]
NON_NEGATIVE_INT = COMMON + [2.0, 2.5, np.float32(2.0)]
ID_OF_4 = NON_NEGATIVE_INT + [4, np.int64(4), np.uint64(2**64 - 1), 10**30]  # an int in [0, 3]
POSITIVE_FLOAT = [True, np.bool_(False), "0.1", None, [0.1], 1j, np.complex128(1), np.clongdouble(1),
                  np.timedelta64(1), math.nan, math.inf, -math.inf, np.float32("nan"), 0, 0.0, -0.1,
                  np.int64(-1), np.uint64(0), 10**400]
FRACTION = POSITIVE_FLOAT + [1.5, np.float32(1.01), 2]  # in (0, 1]
NON_NEGATIVE_FLOAT = [v for v in POSITIVE_FLOAT if not (isinstance(v, (int, float, np.uint64))
                                                         and not isinstance(v, bool) and v == 0)]
IDS_OF_4 = [[1.7], [True, False], ["a"], [None], [math.nan], [-1], [4], [np.uint64(2**64 - 1)], [1 + 0j],
            "ab", b"ab", [[0, 1], [1, 0]], 3, None]
ANY_IDS = [v for v in IDS_OF_4 if v != [4]]  # batch_streams: any non-negative int64 is an id
TEXTS = [b"abcd", None, 5, ["a", "b"], "ab\ud800cd"]



def kinds(call, name, values):
    """Cases (call, name, value) for one argument."""
    return [pytest.param(call, name, v, id=f"{name}={v!r}"[:60]) for v in values]


def table():
    cases = []
    add = lambda call, name, values: cases.extend(  # noqa: E731
        [pytest.param(*c.values, marks=c.marks, id=f"{call.__name__}-{c.id}") for c in kinds(call, name, values)])

    def one_hot_ix(v): core.one_hot(v, 4)
    def one_hot_V(v): core.one_hot(0, v)
    def split_text_fraction(v): core.split_text(TEXT, v)
    def split_text_text(v): core.split_text(v, 0.5)
    def init_params_V(v): core.init_params(v, 3, rng())
    def init_params_H(v): core.init_params(4, v, rng())
    def lstm_init_params_H(v): core.lstm_init_params(4, v, rng())
    def vocab_decode(v): VOCAB.decode(v)
    def vocab_encode(v): VOCAB.encode(v)
    def vocab_from_text(v): core.Vocab.from_text(v)
    def vocab_chars(v): core.Vocab(v)
    def loss_and_grads_inputs(v): core.loss_and_grads(RNN, v, [1], H0)
    def loss_and_grads_targets(v): core.loss_and_grads(RNN, [1], v, H0)
    def lstm_loss_and_grads_inputs(v): core.lstm_loss_and_grads(LSTM, v, [1], H0, H0)
    def zero_state_B(v): core.zero_state(RNN, v)
    def numerical_gradient_h(v): core.numerical_gradient(lambda: 0.0, np.zeros(2), v)
    def grad_check_h(v): core.grad_check(RNN, [0, 1], [1, 2], H0, h=v)
    def grad_check_num_checks(v): core.grad_check(RNN, [0, 1], [1, 2], H0, num_checks=v, rng=rng())
    def clip_elementwise_limit(v): core.clip_elementwise({"Wxh": np.ones(2)}, v)
    def clip_global_norm_max_norm(v): core.clip_global_norm({"Wxh": np.ones(2)}, v)
    def adagrad_learning_rate(v): core.Adagrad(RNN, v)
    def adagrad_eps(v): core.Adagrad(RNN, 0.1, v)
    def sgd_learning_rate(v): core.SGD(RNN, v)
    def batch_streams_B(v): core.batch_streams(IDS, v, 2)
    def batch_streams_T(v): core.batch_streams(IDS, 1, v)
    def batch_streams_data(v): core.batch_streams(v, 1, 1)
    def train_text(v): core.train(v, seq_length=5, num_iters=1)
    def warm_up_ids(v): core.warm_up(RNN, v, H0)
    def sample_seed_ix(v): core.sample(RNN, H0, v, 3, rng())
    def sample_n(v): core.sample(RNN, H0, 0, v, rng())
    def sample_temperature(v): core.sample(RNN, H0, 0, 3, rng(), v)
    def generate_n(v): core.generate(RNN, VOCAB, "ab", v, rng())
    def generate_temperature(v): core.generate(RNN, VOCAB, "ab", 3, rng(), v)
    def generate_prime(v): core.generate(RNN, VOCAB, v, 3, rng())
    def evaluate_streams(v): core.evaluate(RNN, IDS, v)
    def evaluate_ids(v): core.evaluate(RNN, v)
    def ngram_counts_n(v): core.ngram_counts(IDS, v, 4)
    def ngram_counts_V(v): core.ngram_counts(IDS, 2, v)
    def ngram_counts_ids(v): core.ngram_counts(v, 1, 4)
    def ngram_probs_n(v): core.ngram_probs(COUNTS, [0], n=v)
    def ngram_probs_k(v): core.ngram_probs(COUNTS, [0], smoothing="add-k", k=v)
    def ngram_probs_discount(v): core.ngram_probs(COUNTS, [0], discount=v)
    def ngram_probs_context(v): core.ngram_probs(COUNTS, v)
    def ngram_target_probs_ids(v): core.ngram_target_probs(COUNTS, v)
    def ngram_loss_n(v): core.ngram_loss(COUNTS, IDS, n=v)
    def ngram_loss_k(v): core.ngram_loss(COUNTS, IDS, smoothing="add-k", k=v)
    def ngram_loss_discount(v): core.ngram_loss(COUNTS, IDS, discount=v)
    def load_text_max_bytes(v): cio.load_text(TINY, max_bytes=v)

    add(one_hot_ix, "ix", ID_OF_4)
    add(one_hot_V, "vocab_size", POSITIVE_INT)
    add(split_text_fraction, "train_fraction", FRACTION)
    add(split_text_text, "text", TEXTS)
    add(init_params_V, "vocab_size", POSITIVE_INT)
    add(init_params_H, "hidden_size", POSITIVE_INT)
    add(lstm_init_params_H, "hidden_size", POSITIVE_INT)
    add(vocab_decode, "ids", [v for v in IDS_OF_4 if v is not None])
    add(vocab_encode, "text", TEXTS)
    add(vocab_from_text, "text", TEXTS)
    add(vocab_chars, "chars", TEXTS + ["", "a", "abca"])
    add(loss_and_grads_inputs, "inputs", [v for v in IDS_OF_4 if v not in ("ab", b"ab")])
    add(loss_and_grads_targets, "targets", [[1.7], [True], [-1], [4], [1 + 0j], [None]])
    add(lstm_loss_and_grads_inputs, "inputs", [[1.7], [True], [-1], [4], [1 + 0j], [None]])
    add(zero_state_B, "batch_size", POSITIVE_INT)
    add(numerical_gradient_h, "h", POSITIVE_FLOAT)
    add(grad_check_h, "h", POSITIVE_FLOAT)
    add(grad_check_num_checks, "num_checks", [v for v in POSITIVE_INT if v is not None])  # None: all
    add(clip_elementwise_limit, "limit", POSITIVE_FLOAT)
    add(clip_global_norm_max_norm, "max_norm", POSITIVE_FLOAT)
    add(adagrad_learning_rate, "learning_rate", POSITIVE_FLOAT)
    add(adagrad_eps, "eps", NON_NEGATIVE_FLOAT)
    add(sgd_learning_rate, "learning_rate", POSITIVE_FLOAT)
    add(batch_streams_B, "batch_size", POSITIVE_INT)
    add(batch_streams_T, "seq_length", POSITIVE_INT)
    add(batch_streams_data, "data", ANY_IDS)
    def train_with(name):
        def call(v):
            core.train(TEXT, **{"seq_length": 5, "num_iters": 1, name: v})
        call.__name__ = "train"
        return call

    for name in ("hidden_size", "seq_length", "batch_size"):
        add(train_with(name), name, POSITIVE_INT)
    for name in ("num_iters", "seed"):
        add(train_with(name), name, NON_NEGATIVE_INT)
    add(train_with("learning_rate"), "learning_rate", POSITIVE_FLOAT)
    add(train_with("clip"), "clip", [v for v in POSITIVE_FLOAT if v is not None])  # None: no clipping
    add(train_text, "text", TEXTS)
    add(warm_up_ids, "ids", IDS_OF_4)
    add(sample_seed_ix, "seed_ix", ID_OF_4)
    add(sample_n, "n", NON_NEGATIVE_INT)
    add(sample_temperature, "temperature", POSITIVE_FLOAT)
    add(generate_n, "n", NON_NEGATIVE_INT)
    add(generate_temperature, "temperature", POSITIVE_FLOAT)
    add(generate_prime, "prime", TEXTS + [""])
    add(evaluate_streams, "streams", POSITIVE_INT)
    add(evaluate_ids, "ids", IDS_OF_4)
    add(ngram_counts_n, "n", POSITIVE_INT)
    add(ngram_counts_V, "vocab_size", POSITIVE_INT)
    add(ngram_counts_ids, "ids", IDS_OF_4)
    add(ngram_probs_n, "n", [v for v in POSITIVE_INT if v is not None] + [3])  # None: counts.n = 2
    add(ngram_probs_k, "k", POSITIVE_FLOAT)
    add(ngram_probs_discount, "discount", FRACTION)
    add(ngram_probs_context, "context", IDS_OF_4)
    add(ngram_target_probs_ids, "ids", IDS_OF_4)
    add(ngram_loss_n, "n", [v for v in POSITIVE_INT if v is not None])
    add(ngram_loss_k, "k", POSITIVE_FLOAT)
    add(ngram_loss_discount, "discount", FRACTION)
    add(load_text_max_bytes, "max_bytes", POSITIVE_INT)
    for call, name in ((lambda v: core.init_params(4, 3, rng(), scale=v), "scale"),
                       (lambda v: core.lstm_init_params(4, 3, rng(), scale=v), "scale"),
                       (lambda v: core.lstm_init_params(4, 3, rng(), forget_bias=v), "forget_bias")):
        for v in (True, "0.1", None, math.nan, math.inf, 1j):
            cases.append(pytest.param(call, name, v, id=f"init-{name}={v!r}"))
    return cases


@pytest.mark.parametrize("call, name, value", table())
def test_a_bad_value_is_one_error_naming_the_argument(call, name, value):
    """Every kind of bad number, id or text: ValueError/TypeError whose message starts with the argument's name."""
    with np.errstate(all="raise"), pytest.raises(Exception) as e:
        call(value)
    assert type(e.value) in (ValueError, TypeError), f"{type(e.value).__name__}: {e.value}"
    assert re.match(rf"{re.escape(name)}\b", str(e.value)), str(e.value)
    assert "\n" not in str(e.value)


def test_numpy_ints_are_taken_as_python_ints_and_do_not_wrap():
    """np.int64 / np.uint64 sizes work like Python ints; ngram_counts(ids, 40, np.int64(3)) is refused."""
    assert core.one_hot(np.int64(2), np.uint64(4))[2, 0] == 1
    assert core.sample(RNN, H0, np.int64(1), np.uint8(2), rng()) == core.sample(RNN, H0, 1, 2, rng())
    assert core.zero_state(RNN, np.int32(2))[0].shape == (3, 2)
    with pytest.raises(ValueError, match="n=40 is too large for vocab_size=3"):
        core.ngram_counts(np.zeros(50, int), 40, np.int64(3))
    with pytest.raises(ValueError, match="n=10000000 is too large"):
        core.ngram_counts(IDS, 10**7, 4)


# ------------------------------------------------------- the wrong kind of object


WRONG_KIND = {
    "generate(p, 'abcd', ...)": (lambda: core.generate(RNN, "abcd", "ab", 3, rng()), "vocab", TypeError),
    "train(text, vocab='abcd')": (lambda: core.train(TEXT, seq_length=5, num_iters=1, vocab="abcd"),
                                  "vocab", TypeError),
    "clip_elementwise(list)": (lambda: core.clip_elementwise([np.ones(2)], 5), "grads", None),
    "global_norm(list)": (lambda: core.global_norm([1.0, 2.0]), "grads", None),
    "clip_global_norm(list values)": (lambda: core.clip_global_norm({"a": [1.0]}, 1.0), "grads", None),
    "Adagrad(p).step({})": (lambda: core.Adagrad(RNN).step({}), "grads", None),
    "SGD(p).step(wrong shape)": (lambda: core.SGD(RNN).step({**RNN, "Whh": np.ones(2)}), "grads", None),
    "init_params rng=0": (lambda: core.init_params(4, 3, 0), "rng", TypeError),
    "sample rng=42": (lambda: core.sample(RNN, H0, 0, 5, 42), "rng", TypeError),
    "grad_check sampling without rng": (lambda: core.grad_check(RNN, [0, 1], [1, 2], H0, num_checks=2),
                                        "rng", TypeError),
    "forward hprev as a list": (lambda: core.forward(RNN, [0, 1], [1, 2], [[0.0], [0.0], [0.0]]), "hprev", None),
    "encode bytes": (lambda: VOCAB.encode(b"abc"), "text", TypeError),
    "from_text bytes": (lambda: core.Vocab.from_text(b"abc"), "text must be a str, got bytes", TypeError),
    "params as lists": (lambda: core.loss_and_grads({k: v.tolist() for k, v in RNN.items()}, [0, 1], [1, 2], H0),
                        "params", None),
    "params not a dict": (lambda: core.check_params([1, 2]), "params", None),
    "train dtype float16": (lambda: core.train(TEXT, seq_length=5, num_iters=1, dtype=np.float16), "dtype", None),
    "train clip_mode": (lambda: core.train(TEXT, seq_length=3, clip_mode="norm"), "clip_mode", None),
    "train optimizer": (lambda: core.train(TEXT, seq_length=3, optimizer="adam"), "optimizer", None),
    "train cell": (lambda: core.train(TEXT, seq_length=3, cell="gru"), "cell", None),
    "ngram counts a dict": (lambda: core.ngram_loss({"n": 2}, [0, 1]), "counts", TypeError),
    "ngram smoothing": (lambda: core.ngram_probs(COUNTS, [0], smoothing="kneser"), "smoothing", None),
    "sample an lstm from h alone": (lambda: core.sample(LSTM, H0, 0, 3, rng()), "h", None),
    "warm_up an lstm from h alone": (lambda: core.warm_up(LSTM, [0], H0), "h", None),
}


@pytest.mark.parametrize("case", list(WRONG_KIND))
def test_an_argument_of_the_wrong_kind_is_one_error_naming_it(case):
    """A str for a Vocab, a list for grads, an int for an rng...: one ValueError/TypeError naming it."""
    call, word, kind = WRONG_KIND[case]
    with pytest.raises(Exception) as e:
        call()
    assert type(e.value) in ((kind,) if kind else (ValueError, TypeError)), f"{type(e.value).__name__}: {e.value}"
    assert word in str(e.value), str(e.value)


@pytest.mark.parametrize("call", [
    lambda: core.forward(LSTM, [0, 1], [1, 0], H0),
    lambda: core.loss_and_grads(LSTM, [0, 1], [1, 0], H0),
    lambda: core.loss_and_grads_batch(LSTM, [[0], [1]], [[1], [0]], H0),
    lambda: core.hidden_grad_norms(LSTM, [0, 1], [1, 0], H0),
    lambda: core.lstm_forward(RNN, [0, 1], [1, 0], H0, H0),
    lambda: core.lstm_loss_and_grads(RNN, [0, 1], [1, 0], H0, H0),
    lambda: core.lstm_loss_and_grads_batch(RNN, [[0], [1]], [[1], [0]], H0, H0),
    lambda: core.lstm_state_grad_norms(RNN, [0, 1], [1, 0], H0, H0),
], ids=["forward", "loss_and_grads", "loss_and_grads_batch", "hidden_grad_norms", "lstm_forward",
        "lstm_loss_and_grads", "lstm_loss_and_grads_batch", "lstm_state_grad_norms"])
def test_one_cells_function_given_the_other_cells_params_names_params(call):
    """The RNN's functions refuse LSTM params (and vice versa) with a ValueError naming params."""
    with pytest.raises(ValueError, match="params"):
        call()


def test_grad_check_of_an_lstm_with_h_alone_names_the_state():
    """grad_check(lstm params, ..., h) without c: an error that says the state must be a pair."""
    with pytest.raises((ValueError, TypeError), match="pair|hprev|cprev"):
        core.grad_check(LSTM, [0, 1], [1, 0], H0)


@pytest.mark.parametrize("init", [core.init_params, core.lstm_init_params])
def test_init_params_refuses_a_dtype_that_is_not_a_float(init):
    """dtype=np.int64 is refused, naming dtype (as train refuses float16)."""
    with pytest.raises((ValueError, TypeError), match="dtype"):
        init(4, 3, rng(), dtype=np.int64)


# ------------------------------------------------------------- shapes, ids, sizes


def test_encoding_an_unknown_character_shows_it():
    """An unknown character is shown with its code point."""
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\)"):
        VOCAB.encode("abz")


def test_decoding_an_id_out_of_range_names_the_range():
    """decode([0, 4]) and decode([-1]) with V=4: the message names the bad id, its place and the range."""
    with pytest.raises(ValueError, match=r"ids\[1\] is 4, outside the ids \[0, 4\)"):
        VOCAB.decode([0, 4])
    with pytest.raises(ValueError, match=r"ids\[0\] is -1, outside the ids \[0, 4\)"):
        VOCAB.decode([-1])


def test_one_hot_index_out_of_range_shows_the_range_and_the_value():
    """one_hot(3, 3) and one_hot(-1, 3): 'ix must be an integer in [0, 2], got ...'."""
    with pytest.raises(ValueError, match=r"ix must be an integer in \[0, 2\], got 3"):
        core.one_hot(3, 3)
    with pytest.raises(ValueError, match=r"ix must be an integer in \[0, 2\], got -1"):
        core.one_hot(-1, 3)


def test_seed_ix_messages_give_the_range_and_the_value():
    """seed_ix 4, True or 1.5 with V=4: 'seed_ix must be an integer in [0, 3], got ...'."""
    for bad in (4, True, 1.5):
        with pytest.raises(ValueError, match=rf"seed_ix must be an integer in \[0, 3\], got {bad}"):
            core.sample(RNN, H0, bad, 5, rng())


def test_a_str_learning_rate_is_shown_quoted():
    """learning_rate='0.1' is refused as 'must be a finite number > 0, got '0.1''."""
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0, got '0\.1'"):
        core.train(TEXT, seq_length=5, num_iters=1, learning_rate="0.1")


def test_params_with_a_missing_key_are_rejected():
    """Params without 'by' match neither cell: the message lists both key sets."""
    params = {k: v for k, v in RNN.items() if k != "by"}
    with pytest.raises(ValueError, match="keys"):
        core.loss_and_grads(params, [0, 1], [1, 2], H0)


def test_params_that_do_not_fit_together_are_rejected():
    """A Whh of shape (3, 4) with H=3: the message names Whh and both shapes."""
    params = {**RNN, "Whh": np.zeros((3, 4))}
    with pytest.raises(ValueError, match=r"params\['Whh'\] has shape \(3, 4\), expected \(3, 3\)"):
        core.loss_and_grads(params, [0, 1], [1, 2], H0)


def test_inputs_and_targets_of_different_lengths():
    """inputs and targets of different shapes are refused, per step and batched."""
    with pytest.raises(ValueError, match="inputs and targets differ in shape"):
        core.loss_and_grads(RNN, [0, 1, 2], [1, 2], H0)
    with pytest.raises(ValueError, match="inputs and targets differ in shape"):
        core.loss_and_grads_batch(RNN, np.zeros((3, 2), int), np.zeros((2, 2), int), np.zeros((3, 2)))


def test_hprev_of_the_wrong_shape():
    """hprev (3,) for (3, 1) and (3, 1) for a batch of 2: the message gives both shapes."""
    with pytest.raises(ValueError, match=r"hprev must have shape \(3, 1\), got \(3,\)"):
        core.loss_and_grads(RNN, [0, 1], [1, 2], np.zeros(3))
    with pytest.raises(ValueError, match=r"hprev must have shape \(3, 2\), got \(3, 1\)"):
        core.loss_and_grads_batch(RNN, np.zeros((2, 2), int), np.zeros((2, 2), int), np.zeros((3, 1)))


def test_ids_out_of_range_in_a_sequence():
    """inputs or targets outside [0, V) are named with the range."""
    with pytest.raises(ValueError, match=r"inputs holds ids outside \[0, 4\)"):
        core.loss_and_grads(RNN, [0, 4], [1, 2], H0)
    with pytest.raises(ValueError, match=r"targets holds ids outside \[0, 4\)"):
        core.loss_and_grads(RNN, [0, 1], [-1, 2], H0)
    with pytest.raises(ValueError, match=r"targets holds ids outside"):
        core.loss_and_grads_batch(RNN, np.zeros((2, 1), int), np.full((2, 1), 9), H0)


def test_inputs_that_are_not_ints_or_are_empty():
    """Float, empty, or 1-d inputs for the batched pass: 'inputs must be a non-empty k-d array of ints'."""
    with pytest.raises(ValueError, match="inputs must be a non-empty 1-d array of ints"):
        core.loss_and_grads(RNN, [0.0, 1.0], [1, 2], H0)
    with pytest.raises(ValueError, match="inputs must be a non-empty 1-d array of ints"):
        core.loss_and_grads(RNN, [], [], H0)
    with pytest.raises(ValueError, match="inputs must be a non-empty 2-d array of ints"):
        core.loss_and_grads_batch(RNN, [0, 1], [1, 2], H0)


def test_evaluate_names_bad_ids():
    """Too few, float, out-of-range or 2-d ids for evaluate: a ValueError starting with 'ids'."""
    for bad in (IDS[:1], IDS.astype(float), np.array([0, 6]), IDS.reshape(2, 4)):
        with pytest.raises(ValueError, match=r"^ids[ []"):
            core.evaluate(RNN, bad)


def test_seq_length_longer_than_the_text():
    """A text shorter than seq_length + 1 is refused, giving seq_length + 1."""
    with pytest.raises(ValueError, match=r"too short .*seq_length \+ 1 = 101"):
        core.train("abcabcabc", seq_length=100, num_iters=1)


def test_batch_too_large_for_the_text():
    """Too many streams for the text is refused, naming batch_size."""
    with pytest.raises(ValueError, match=r"too short for batch_size=10"):
        core.train("abcdefghij" * 3, seq_length=5, batch_size=10, num_iters=1)


def test_train_with_params_for_another_vocabulary():
    """Params for V=4 with a 5-character text: refused, giving both sizes."""
    with pytest.raises(ValueError, match="vocabulary has 5 characters but the params are for V=4"):
        core.train("abcde" * 20, seq_length=5, num_iters=1, params=RNN)


def test_train_text_with_characters_outside_the_given_vocabulary():
    """A text character missing from vocab= is shown with its code point."""
    with pytest.raises(ValueError, match=r"'e' \(U\+0065\)"):
        core.train("abcde" * 20, seq_length=5, num_iters=1, vocab=VOCAB)


def test_sampling_rejects_h_of_the_wrong_shape():
    """h (3, 2) for a (3, 1) state: the message gives both shapes."""
    with pytest.raises(ValueError, match=r"h must have shape \(3, 1\), got \(3, 2\)"):
        core.sample(RNN, np.zeros((3, 2)), 0, 5, rng())


def test_prime_with_characters_not_in_the_vocabulary():
    """A prime character outside the vocabulary is shown with its code point."""
    with pytest.raises(ValueError, match=r"'Z' \(U\+005A\) is not in the vocabulary"):
        core.generate(RNN, VOCAB, "abZ", 5, rng())


def test_generate_with_a_vocabulary_that_does_not_fit_the_params():
    """A 6-character vocabulary for params of V=4 is refused, not used for the first 4 ids."""
    with pytest.raises(ValueError, match="vocabulary has 6 characters but the params are for V=4"):
        core.generate(RNN, core.Vocab("abcdef"), "ab", 10, rng())
