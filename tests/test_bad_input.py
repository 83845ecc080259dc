"""Bad input gets a ValueError/TypeError whose message names the input, never a deep
NumPy traceback or a silent wrong answer. One test per kind of mistake."""

import math
import re

import numpy as np
import pytest

import charrnn_core as core


@pytest.fixture
def model():
    """A small model over the vocabulary "abcd": params, vocab, hprev."""
    params = core.init_params(4, 3, np.random.default_rng(0), scale=0.1)
    return params, core.Vocab("abcd"), np.zeros((3, 1))


def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------- text files


def test_load_text_of_a_missing_file_names_the_path(tmp_path):
    path = tmp_path / "no-such-file.txt"
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_text(path)


def test_load_text_of_an_empty_file_says_empty(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*empty"):
        core.load_text(path)


def test_load_text_of_a_file_with_one_distinct_character(tmp_path):
    path = tmp_path / "aaaa.txt"
    path.write_text("aaaaaaaa")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*1 distinct"):
        core.load_text(path)


def test_load_text_of_a_binary_file_says_not_utf8(tmp_path):
    path = tmp_path / "binary.bin"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not UTF-8"):
        core.load_text(path)


def test_load_text_of_a_folder_names_the_path(tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        core.load_text(tmp_path)


def test_load_text_reads_utf8(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    assert core.load_text(path) == "héllo wörld\n"


# ----------------------------------------------------------------- vocabulary


def test_encoding_an_unknown_character_shows_it():
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\)"):
        core.Vocab("abcd").encode("abz")


def test_decoding_an_id_out_of_range_shows_it():
    with pytest.raises(ValueError, match=r"id 4 .*\[0, 4\)"):
        core.Vocab("abcd").decode([0, 4])
    with pytest.raises(ValueError, match=r"id -1"):
        core.Vocab("abcd").decode([-1])


def test_vocab_needs_two_distinct_characters():
    with pytest.raises(ValueError, match="chars"):
        core.Vocab("a")
    with pytest.raises(ValueError, match="chars"):
        core.Vocab("abca")


def test_vocab_from_text_wants_a_str():
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        core.Vocab.from_text(b"abc")


def test_one_hot_index_out_of_range():
    with pytest.raises(ValueError, match=r"ix must be in \[0, 3\), got 3"):
        core.one_hot(3, 3)
    with pytest.raises(ValueError, match="got -1"):
        core.one_hot(-1, 3)


# ----------------------------------------------------------------- parameters


@pytest.mark.parametrize("hidden_size", [0, -3, 2.5, "8"])
def test_init_params_rejects_a_bad_hidden_size(hidden_size):
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        core.init_params(4, hidden_size, rng())


def test_init_params_wants_a_generator():
    with pytest.raises(TypeError, match="rng"):
        core.init_params(4, 3, 0)


def test_params_with_a_missing_key_are_rejected(model):
    params, _, hprev = model
    del params["by"]
    with pytest.raises(ValueError, match="keys"):
        core.loss_and_grads(params, [0, 1], [1, 2], hprev)


def test_params_that_do_not_fit_together_are_rejected(model):
    params, _, hprev = model
    params["Whh"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"params\['Whh'\] has shape \(3, 4\), expected \(3, 3\)"):
        core.loss_and_grads(params, [0, 1], [1, 2], hprev)


# ------------------------------------------------------------- sequences, hprev


def test_inputs_and_targets_of_different_lengths(model):
    params, _, hprev = model
    with pytest.raises(ValueError, match="inputs and targets differ in shape"):
        core.loss_and_grads(params, [0, 1, 2], [1, 2], hprev)
    with pytest.raises(ValueError, match="inputs and targets differ in shape"):
        core.loss_and_grads_batch(params, np.zeros((3, 2), int), np.zeros((2, 2), int),
                                  np.zeros((3, 2)))


def test_hprev_of_the_wrong_shape(model):
    params, _, _ = model
    with pytest.raises(ValueError, match=r"hprev must have shape \(3, 1\), got \(3,\)"):
        core.loss_and_grads(params, [0, 1], [1, 2], np.zeros(3))
    with pytest.raises(ValueError, match=r"hprev must have shape \(3, 2\), got \(3, 1\)"):
        core.loss_and_grads_batch(params, np.zeros((2, 2), int), np.zeros((2, 2), int),
                                  np.zeros((3, 1)))


def test_ids_out_of_range(model):
    params, _, hprev = model
    with pytest.raises(ValueError, match=r"inputs holds ids outside \[0, 4\)"):
        core.loss_and_grads(params, [0, 4], [1, 2], hprev)
    with pytest.raises(ValueError, match=r"targets holds ids outside \[0, 4\)"):
        core.loss_and_grads(params, [0, 1], [-1, 2], hprev)
    with pytest.raises(ValueError, match=r"targets holds ids outside"):
        core.loss_and_grads_batch(params, np.zeros((2, 1), int), np.full((2, 1), 9),
                                  hprev)


def test_inputs_that_are_not_ints_or_are_empty(model):
    params, _, hprev = model
    with pytest.raises(ValueError, match="inputs must be a non-empty 1-d array of ints"):
        core.loss_and_grads(params, [0.0, 1.0], [1, 2], hprev)
    with pytest.raises(ValueError, match="inputs must be a non-empty 1-d array of ints"):
        core.loss_and_grads(params, [], [], hprev)
    with pytest.raises(ValueError, match="inputs must be a non-empty 2-d array of ints"):
        core.loss_and_grads_batch(params, [0, 1], [1, 2], hprev)


def test_per_step_and_batched_losses_agree_when_a_probability_underflows(model):
    # Huge weights make p[target] underflow to 0: the loss is +inf in both versions
    # (training then reports TrainingDiverged), not an obscure "math domain error".
    params, _, hprev = model
    params = {k: v * 1e5 + 1e3 * np.sign(v) for k, v in params.items()}
    params["Why"] = np.array([[1e4, 0, 0], [-1e4, 0, 0], [0, 0, 0], [0, 0, 0]]) * 10
    params["Wxh"][:] = 1e3
    inputs, targets = np.array([0, 1]), np.array([1, 1])
    with np.errstate(all="ignore"):
        lossb = core.loss_and_grads_batch(params, inputs[:, None], targets[:, None], hprev)[0]
        loss = core.loss_and_grads(params, inputs, targets, hprev)[0]
    assert lossb == math.inf
    assert loss == math.inf


# ------------------------------------------------------------------- training


def test_seq_length_longer_than_the_text():
    with pytest.raises(ValueError, match=r"too short .*seq_length \+ 1 = 101"):
        core.train("abcabcabc", seq_length=100, num_iters=1)


def test_batch_too_large_for_the_text():
    with pytest.raises(ValueError, match=r"too short for batch_size=10"):
        core.train("abcdefghij" * 3, seq_length=5, batch_size=10, num_iters=1)


@pytest.mark.parametrize("name", ["hidden_size", "seq_length", "batch_size"])
@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_train_rejects_non_positive_sizes(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer, got {value}"):
        core.train("abcabcabcabc" * 5, num_iters=1, **{name: value})


def test_train_rejects_negative_num_iters():
    with pytest.raises(ValueError, match="num_iters"):
        core.train("abcabcabc" * 5, seq_length=3, num_iters=-1)


def test_train_rejects_unknown_clip_mode_and_optimizer():
    with pytest.raises(ValueError, match="clip_mode"):
        core.train("abcabcabc" * 5, seq_length=3, clip_mode="norm")
    with pytest.raises(ValueError, match="optimizer"):
        core.train("abcabcabc" * 5, seq_length=3, optimizer="adam")


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
def test_optimizers_reject_a_bad_learning_rate(model, lr):
    params, _, _ = model
    for opt in (core.Adagrad, core.SGD):
        with pytest.raises(ValueError, match="learning_rate must be > 0"):
            opt(params, lr)


def test_train_with_params_for_another_vocabulary(model):
    params, _, _ = model                          # V = 4
    with pytest.raises(ValueError, match="V=4 .*vocabulary has 5"):
        core.train("abcde" * 20, seq_length=5, num_iters=1, params=params)


def test_train_text_with_characters_outside_the_given_vocabulary():
    with pytest.raises(ValueError, match=r"'e' \(U\+0065\)"):
        core.train("abcde" * 20, seq_length=5, num_iters=1, vocab=core.Vocab("abcd"))


@pytest.mark.parametrize("limit", [0, -1.0])
def test_clipping_rejects_a_non_positive_limit(limit):
    grads = {"Wxh": np.ones((2, 2))}
    with pytest.raises(ValueError, match="limit must be > 0"):
        core.clip_elementwise(grads, limit)
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        core.clip_global_norm(grads, limit)


def test_grad_check_sampling_needs_a_generator(model):
    params, _, hprev = model
    with pytest.raises(TypeError, match="rng"):
        core.grad_check(params, [0, 1], [1, 2], hprev, num_checks=2)


# ------------------------------------------------------------------- sampling


@pytest.mark.parametrize("temperature", [0, 0.0, -1.0, float("nan"), float("inf"), "1"])
def test_sampling_rejects_a_bad_temperature(model, temperature):
    params, vocab, h = model
    with pytest.raises(ValueError, match="temperature must be a positive finite number"):
        core.sample(params, h, 0, 5, rng(), temperature)
    with pytest.raises(ValueError, match="temperature must be a positive finite number"):
        core.generate(params, vocab, "ab", 5, rng(), temperature)


@pytest.mark.parametrize("n", [-1, 2.0])
def test_sampling_rejects_a_bad_count(model, n):
    params, vocab, h = model
    with pytest.raises(ValueError, match=f"n must be a non-negative integer, got {n}"):
        core.sample(params, h, 0, n, rng())
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        core.generate(params, vocab, "a", n, rng())


def test_sampling_rejects_a_seed_id_out_of_range(model):
    params, _, h = model
    with pytest.raises(ValueError, match=r"seed_ix must be in \[0, 4\), got 4"):
        core.sample(params, h, 4, 5, rng())


def test_sampling_rejects_h_of_the_wrong_shape(model):
    params, _, _ = model
    with pytest.raises(ValueError, match=r"h must have shape \(3, 1\), got \(3, 2\)"):
        core.sample(params, np.zeros((3, 2)), 0, 5, rng())


def test_sampling_wants_a_generator(model):
    params, _, h = model
    with pytest.raises(TypeError, match="rng"):
        core.sample(params, h, 0, 5, 42)


def test_prime_with_characters_not_in_the_vocabulary(model):
    params, vocab, _ = model
    with pytest.raises(ValueError, match=r"'Z' \(U\+005A\) is not in the vocabulary"):
        core.generate(params, vocab, "abZ", 5, rng())


def test_empty_prime(model):
    params, vocab, _ = model
    with pytest.raises(ValueError, match="prime"):
        core.generate(params, vocab, "", 5, rng())


def test_generate_with_a_vocabulary_that_does_not_fit_the_params(model):
    # params are for 4 characters; a 6-character vocabulary must be refused, not
    # silently used for the first 4 ids.
    params, _, _ = model
    with pytest.raises(ValueError, match="vocab"):
        core.generate(params, core.Vocab("abcdef"), "ab", 10, rng())


# ---------------------------------------------------------------- checkpoints


def write_checkpoint(path, params, chars="abcd", **extra):
    np.savez(path, **params, chars=np.array(chars), **extra)


def test_missing_checkpoint_names_the_path(tmp_path):
    path = tmp_path / "nothing.npz"
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_checkpoint(path)


def test_truncated_checkpoint_names_the_path(tmp_path, model):
    params, vocab, _ = model
    path = tmp_path / "m.npz"
    core.save_checkpoint(path, params, vocab)
    data = path.read_bytes()
    for cut in (len(data) // 2, 10, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=re.escape(str(path))):
            core.load_checkpoint(path)


def test_text_file_as_checkpoint_names_the_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_checkpoint(path)


def test_npy_file_as_checkpoint_names_the_path(tmp_path):
    # np.load returns a bare array for .npy files, not an archive
    path = tmp_path / "array.npy"
    np.save(path, np.arange(5.0))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_checkpoint(path)


def test_checkpoint_with_a_pickled_object_array_is_refused(tmp_path, model):
    params, _, _ = model
    path = tmp_path / "pickled.npz"
    write_checkpoint(path, params, evil=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_checkpoint(path)


def test_checkpoint_missing_an_array_names_it(tmp_path, model):
    params, _, _ = model
    del params["bh"]
    path = tmp_path / "m.npz"
    write_checkpoint(path, params)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*lacks \['bh'\]"):
        core.load_checkpoint(path)


@pytest.mark.parametrize("name, shape", [("Whh", (3, 4)), ("Wxh", (3, 4, 1)), ("Why", (4, 2)),
                                         ("bh", (3,)), ("bh", (4, 1)), ("by", (1, 4))])
def test_checkpoint_with_a_wrong_shape_is_refused(tmp_path, model, name, shape):
    params, _, _ = model
    params[name] = np.zeros(shape)
    path = tmp_path / "m.npz"
    write_checkpoint(path, params)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not valid.*" + name):
        core.load_checkpoint(path)


def test_checkpoint_whose_vocabulary_size_does_not_match(tmp_path, model):
    params, _, _ = model
    path = tmp_path / "m.npz"
    write_checkpoint(path, params, chars="abcde")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*V=4.*vocabulary has 5"):
        core.load_checkpoint(path)


def test_checkpoint_holding_nan_is_refused(tmp_path, model):
    params, _, _ = model
    params["Why"][0, 0] = np.nan
    path = tmp_path / "m.npz"
    write_checkpoint(path, params)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*NaN"):
        core.load_checkpoint(path)


def test_checkpoint_with_a_non_scalar_meta_entry_names_the_path(tmp_path, model):
    params, _, _ = model
    path = tmp_path / "m.npz"
    write_checkpoint(path, params, meta_iteration=np.arange(3))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.load_checkpoint(path)


def test_save_checkpoint_rejects_bad_meta(tmp_path, model):
    params, vocab, _ = model
    with pytest.raises(ValueError, match="meta 'Wxh'"):
        core.save_checkpoint(tmp_path / "m.npz", params, vocab, Wxh=1)
    with pytest.raises(ValueError, match="meta 'history'"):
        core.save_checkpoint(tmp_path / "m.npz", params, vocab, history=[1, 2])
    assert list(tmp_path.iterdir()) == []


def test_save_checkpoint_into_a_missing_folder_names_the_path(tmp_path, model):
    params, vocab, _ = model
    path = tmp_path / "no-such-folder" / "m.npz"
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.save_checkpoint(path, params, vocab)
