"""The command line, run as a real subprocess: `python -m charrnn_core train|sample ...`.

Every run uses the same charrnn_core the tests import (see conftest.subprocess_env).
To stay fast, one good training run goes first and all the other runs start together.
"""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import charrnn_core as core
from conftest import TINY, subprocess_env

PRIME = "Sampson."


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "charrnn_core", *map(str, args)], cwd=cwd,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc):
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


TRAIN_OK = ["--iters", 20, "--hidden-size", 8, "--seq-length", 10]

# name -> (arguments, text the one-line error message must contain)
BAD = {
    "missing data file": (["train", "--data", "{d}/missing.txt"], "missing.txt"),
    "data not UTF-8": (["train", "--data", "{d}/binary.txt"], "not UTF-8"),
    "hidden size 0": (["train", "--data", TINY, "--hidden-size", "0"], "--hidden-size"),
    "hidden size abc": (["train", "--data", TINY, "--hidden-size", "abc"], "--hidden-size"),
    "seq length > corpus": (["train", "--data", TINY, "--seq-length", "5000", "--out",
                             "{d}/x.npz"], "too short"),
    "out in a missing folder": (["train", "--data", TINY, "--iters", "2", "--out",
                                 "{d}/nope/m.npz"], "nope"),
    "temperature 0": (["sample", "--checkpoint", "{d}/good.npz", "--temperature", "0"],
                      "--temperature"),
    "temperature nan": (["sample", "--checkpoint", "{d}/good.npz", "--temperature", "nan"],
                        "--temperature"),
    "length -1": (["sample", "--checkpoint", "{d}/good.npz", "--length", "-1"], "--length"),
    "negative sample-every": (["train", "--data", TINY, "--sample-every", "-3",
                               "--out", "{d}/neg.npz"], "--sample-every"),
    "prime unknown char": (["sample", "--checkpoint", "{d}/good.npz", "--prime", "ab\u20ac"],
                           "U+20AC"),
    "checkpoint missing": (["sample", "--checkpoint", "{d}/gone.npz"], "gone.npz"),
    "checkpoint truncated": (["sample", "--checkpoint", "{d}/truncated.npz"], "truncated.npz"),
    "checkpoint is text": (["sample", "--checkpoint", TINY], "tiny.txt"),
    "checkpoint is npy": (["sample", "--checkpoint", "{d}/array.npy"], "array.npy"),
    "unknown subcommand": (["fly"], "fly"),
    "learning rate diverges": (["train", "--data", TINY, *TRAIN_OK, "--learning-rate", "1e6",
                                "--out", "{d}/last-good.npz"], "loss became"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    good = finish(start(["train", "--data", TINY, *TRAIN_OK, "--out", d / "good.npz"], d))
    assert good[0] == 0, good[2]
    (d / "binary.txt").write_bytes(bytes(range(128, 256)) * 4)
    (d / "aaaa.txt").write_text("a" * 100)
    data = (d / "good.npz").read_bytes()
    (d / "truncated.npz").write_bytes(data[: len(data) // 2])
    (d / "last-good.npz").write_bytes(data)
    np.save(d / "array.npy", np.arange(4.0))
    procs = {"sample": start(["sample", "--checkpoint", d / "good.npz", "--length", 50,
                              "--prime", PRIME], d)}
    for name, (args, _) in BAD.items():
        procs[name] = start([str(a).format(d=d) for a in args], d)
    results = {name: finish(p) for name, p in procs.items()}
    results["train"] = good
    return d, results, data


def test_train_writes_a_checkpoint_that_loads(runs):
    d, results, _ = runs
    code, out, err = results["train"]
    assert code == 0 and err == ""
    assert "saved" in out and "after 20 iterations" in out
    params, vocab, meta = core.load_checkpoint(d / "good.npz")
    assert vocab.chars == "".join(sorted(set(TINY.read_text(encoding="utf-8"))))
    assert params["Whh"].shape == (8, 8)
    assert meta["iteration"] == 20 and meta["data"] == "tiny.txt"


def test_sample_prints_the_prime_and_length_characters(runs):
    d, results, _ = runs
    code, out, err = results["sample"]
    assert code == 0 and err == ""
    assert out.endswith("\n")
    text = out[:-1]
    assert text.startswith(PRIME) and len(text) == len(PRIME) + 50
    params, vocab, _ = core.load_checkpoint(d / "good.npz")
    assert text == core.generate(params, vocab, PRIME, 50, np.random.default_rng(0), 1.0)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_arguments_give_exit_status_2_and_one_line(runs, name):
    _, results, _ = runs
    code, out, err = results[name]
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert BAD[name][1] in err, err


def test_a_diverging_run_keeps_the_last_good_checkpoint(runs):
    d, results, good_bytes = runs
    assert results["learning rate diverges"][0] == 2
    assert hashlib.sha256((d / "last-good.npz").read_bytes()).digest() == \
        hashlib.sha256(good_bytes).digest()
    assert not list(d.glob(".checkpoint-*"))
    assert not (d / "x.npz").exists() and not (d / "nope").exists()
