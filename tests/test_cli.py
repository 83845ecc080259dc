"""The command line, run as a real subprocess (`python -m charrnn_core train|sample ...`)
or in this process (`charrnn_io.main([...])`, for failures found before training).

It never loses data and never shows a traceback: every failure is one line on stderr with
exit status 2 (1 when stdout cannot be written, 128 + the signal's number after Ctrl-C,
SIGTERM or SIGHUP), and the files it was given are still there afterwards. Every child
imports the same charrnn_core and charrnn_io as the tests (conftest.subprocess_env).
"""

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import charrnn_core as core
import charrnn_io as cio
from conftest import REPO, TINY, one_line_error, subprocess_env


def start(args, cwd, **popen):
    """`python -m charrnn_core ARGS` started in the background (stdout, stderr piped)."""
    popen.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "charrnn_core", *map(str, args)], cwd=cwd,
                            env=subprocess_env(), stderr=subprocess.PIPE, **popen)


NO_STDOUT = "import sys; sys.stdout = None; import charrnn_io; sys.exit(charrnn_io.main(sys.argv[1:]))"


def start_without_stdout(args, cwd):
    """The command line in a child whose sys.stdout is None (pythonw, a detached service)."""
    return subprocess.Popen([sys.executable, "-c", NO_STDOUT, *map(str, args)], cwd=cwd,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def close_fd_1():
    os.close(1)


# ------------------------------------------------- one training run, many quick runs

PRIME = "Sampson."


def finish(proc):
    """(exit status, stdout, stderr) of a started run."""
    out, err = proc.communicate(timeout=60)
    return proc.returncode, (out or b"").decode("utf-8"), err.decode("utf-8")


TRAIN_OK = ["--iters", 20, "--hidden-size", 8, "--seq-length", 10]

# name -> (arguments, text the one-line error message must contain)
BAD = {
    "missing data file": (["train", "--data", "{d}/missing.txt"], "missing.txt"),
    "data not UTF-8": (["train", "--data", "{d}/binary.txt"], "not UTF-8"),
    "hidden size 0": (["train", "--data", TINY, "--hidden-size", "0"], "--hidden-size"),
    "hidden size abc": (["train", "--data", TINY, "--hidden-size", "abc"], "--hidden-size"),
    "seq length > corpus": (["train", "--data", TINY, "--seq-length", "5000", "--out",
                             "{d}/x.safetensors"], "too short"),
    "out in a missing folder": (["train", "--data", TINY, "--iters", "2", "--out",
                                 "{d}/nope/m.safetensors"], "nope"),
    "temperature 0": (["sample", "--checkpoint", "{d}/good.safetensors", "--temperature", "0"],
                      "--temperature"),
    "temperature nan": (["sample", "--checkpoint", "{d}/good.safetensors", "--temperature", "nan"],
                        "--temperature"),
    "length -1": (["sample", "--checkpoint", "{d}/good.safetensors", "--length", "-1"], "--length"),
    "negative sample-every": (["train", "--data", TINY, "--sample-every", "-3",
                               "--out", "{d}/neg.safetensors"], "--sample-every"),
    "prime unknown char": (["sample", "--checkpoint", "{d}/good.safetensors", "--prime", "ab\u20ac"],
                           "U+20AC"),
    "checkpoint missing": (["sample", "--checkpoint", "{d}/gone.safetensors"], "gone.safetensors"),
    "checkpoint truncated": (["sample", "--checkpoint", "{d}/truncated.safetensors"], "truncated.safetensors"),
    "checkpoint is text": (["sample", "--checkpoint", TINY], "tiny.txt"),
    "checkpoint is npy": (["sample", "--checkpoint", "{d}/array.npy"], "array.npy"),
    "unknown subcommand": (["fly"], "fly"),
    "learning rate diverges": (["train", "--data", TINY, *TRAIN_OK, "--learning-rate", "1e6",
                                "--out", "{d}/last-good.safetensors"], "loss became"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One good training run, then every other run of this section at once: (folder, results, bytes)."""
    d = tmp_path_factory.mktemp("cli")
    good = finish(start(["train", "--data", TINY, *TRAIN_OK, "--out", d / "good.safetensors"], d))
    assert good[0] == 0, good[2]
    (d / "binary.txt").write_bytes(bytes(range(128, 256)) * 4)
    (d / "aaaa.txt").write_text("a" * 100)
    data = (d / "good.safetensors").read_bytes()
    (d / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (d / "last-good.safetensors").write_bytes(data)
    np.save(d / "array.npy", np.arange(4.0))
    procs = {"sample": start(["sample", "--checkpoint", d / "good.safetensors", "--length", 50,
                              "--prime", PRIME], d)}
    for name, (args, _) in BAD.items():
        procs[name] = start([str(a).format(d=d) for a in args], d)
    good_path = d / "good.safetensors"
    procs["greedy"] = start(["sample", "--checkpoint", good_path, "--length", 80, "--prime", PRIME,
                             "--temperature", "5e-324"], d)
    (d / "stray").mkdir()
    (d / "stray" / ".checkpoint-99999999999999999999-x.tmp").write_bytes(b"junk")
    procs["stray temp file"] = start(["train", "--data", TINY, *TRAIN_OK, "--out", d / "stray" / "m.safetensors"], d)
    procs["sample, fd 1 closed"] = start(["sample", "--checkpoint", good_path, "--length", 50], d,
                                         stdout=None, preexec_fn=close_fd_1)
    procs["train, fd 1 closed"] = start(["train", "--data", TINY, *TRAIN_OK, "--out", d / "closed.safetensors"],
                                        d, stdout=None, preexec_fn=close_fd_1)
    procs["sample, stdout None"] = start_without_stdout(["sample", "--checkpoint", good_path, "--length", 50], d)
    procs["train, stdout None"] = start_without_stdout(["train", "--data", TINY, *TRAIN_OK, "--out",
                                                        d / "none.safetensors"], d)
    procs["lstm"] = start(["train", "--data", TINY, "--cell", "lstm", "--hidden-size", 8, "--iters", 30,
                           "--print-every", 10, "--sample-every", 0, "--train-fraction", 0.9,
                           "--out", d / "lstm.safetensors"], d)
    procs["lstm bad cell"] = start(["train", "--data", TINY, "--cell", "gru", "--out", d / "gru.safetensors"], d)
    results = {name: finish(p) for name, p in procs.items()}
    procs = {"lstm sample": start(["sample", "--checkpoint", d / "lstm.safetensors", "--length", 40,
                                   "--prime", "T"], d)}
    results.update({name: finish(p) for name, p in procs.items()})
    results["train"] = good
    return d, results, data


def test_train_writes_a_checkpoint_that_loads(runs):
    """train exits 0, prints the saved line, and writes a checkpoint of the text's vocabulary."""
    d, results, _ = runs
    code, out, err = results["train"]
    assert code == 0 and err == ""
    assert "saved" in out and "after 20 iterations" in out
    params, vocab, meta = cio.load_checkpoint(d / "good.safetensors")
    assert vocab.chars == "".join(sorted(set(TINY.read_text(encoding="utf-8"))))
    assert params["Whh"].shape == (8, 8)
    assert meta["iteration"] == 20 and meta["data"] == "tiny.txt"


def test_sample_prints_the_prime_and_length_characters(runs):
    """sample prints the prime and --length characters, the same text generate gives."""
    d, results, _ = runs
    code, out, err = results["sample"]
    assert code == 0 and err == ""
    assert out.endswith("\n")
    text = out[:-1]
    assert text.startswith(PRIME) and len(text) == len(PRIME) + 50
    params, vocab, _ = cio.load_checkpoint(d / "good.safetensors")
    assert text == core.generate(params, vocab, PRIME, 50, np.random.default_rng(0), 1.0)


@pytest.mark.parametrize("name", list(BAD))
def test_bad_arguments_give_exit_status_2_and_one_line(runs, name):
    """Each bad argument, file or size: status 2 and one line on stderr naming it."""
    _, results, _ = runs
    code, out, err = results[name]
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert BAD[name][1] in err, err


def test_a_diverging_run_keeps_the_last_good_checkpoint(runs):
    """A run that diverges leaves --out's old bytes and no temp files; refused runs write nothing."""
    d, results, good_bytes = runs
    assert results["learning rate diverges"][0] == 2
    assert hashlib.sha256((d / "last-good.safetensors").read_bytes()).digest() == \
        hashlib.sha256(good_bytes).digest()
    assert not list(d.glob(".checkpoint-*"))
    assert not (d / "x.safetensors").exists() and not (d / "nope").exists()


# ------------------------------------------------------------------- robustness

SMALL = ["--iters", "20", "--hidden-size", "8", "--seq-length", "10", "--sample-every", "0",
         "--checkpoint-every", "0"]


def cli(*args, cwd, env=None, timeout=120, **popen):
    """Run `python -m charrnn_core ARGS` to the end: (exit status, stdout, stderr)."""
    popen.setdefault("stdout", subprocess.PIPE)
    p = subprocess.Popen([sys.executable, "-m", "charrnn_core", *map(str, args)], cwd=cwd,
                         env=env or subprocess_env(), stderr=subprocess.PIPE, **popen)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, (out or b"").decode("utf-8", "replace"), err.decode("utf-8", "replace")


def main(argv, capsys):
    """Run the command line in this process (fast; for failures found before training)."""
    capsys.readouterr()
    try:
        code = cio.main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------- --out


@pytest.mark.parametrize("how", ["same name", "hard link"])
def test_out_naming_the_training_file_is_refused_and_the_corpus_kept(tmp_path, how):
    """--out naming --data (or a hard link to it) is refused; the corpus is unchanged."""
    corpus = tmp_path / "corpus.txt"
    shutil.copy(TINY, corpus)
    out = corpus
    if how == "hard link":
        out = tmp_path / "model.safetensors"
        os.link(corpus, out)
    code, out, err = cli("train", "--data", corpus, "--out", out, *SMALL, cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--out")
    assert corpus.read_bytes() == TINY.read_bytes()


def test_out_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    """--out a symlink: the target gets the checkpoint, the link stays a link."""
    (tmp_path / "store").mkdir()
    link = tmp_path / "latest.safetensors"
    link.symlink_to(tmp_path / "store" / "run1.safetensors")
    code, _, err = cli("train", "--data", TINY, "--out", link, *SMALL, cwd=tmp_path)
    assert code == 0, err
    assert link.is_symlink() and (tmp_path / "store" / "run1.safetensors").is_file()
    assert cio.load_checkpoint(link)[2]["iteration"] == 20


@pytest.mark.parametrize("kind", ["fifo", "folder", "empty name", "trailing slash",
                                  "name too long", "missing folder"])
def test_an_out_that_cannot_be_written_is_found_before_training(tmp_path, kind, capsys,
                                                               monkeypatch):
    """An --out that cannot be written is refused before the first update; nothing changes."""
    out = {"fifo": tmp_path / "pipe", "folder": tmp_path, "empty name": "",
           "trailing slash": str(tmp_path / "new") + "/", "name too long": "x" * 300 + ".safetensors",
           "missing folder": tmp_path / "nope" / "m.safetensors"}[kind]
    if kind == "fifo":
        os.mkfifo(out)
    before = sorted(os.listdir(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, stdout, err = main(["train", "--data", TINY, "--out", out, *SMALL, "--print-every", 1],
                             capsys)
    assert code == 2
    one_line_error(err, "--out")
    assert "iter" not in stdout  # refused before the first update, not after the whole run
    assert sorted(os.listdir(tmp_path)) == before
    if kind == "fifo":
        assert (tmp_path / "pipe").is_fifo()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_out_in_a_read_only_folder_is_found_before_training(tmp_path):
    """--out in a read-only folder is refused before training."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, stdout, err = cli("train", "--data", TINY, "--out", folder / "m.safetensors", *SMALL,
                                "--print-every", 1, cwd=tmp_path)
    finally:
        folder.chmod(0o755)
    assert code == 2 and "iter" not in stdout
    one_line_error(err, "--out")


# ------------------------------------------------------------------- --seed


@pytest.mark.parametrize("command", ["train", "sample"])
@pytest.mark.parametrize("seed", ["-1", str(2**64), "1.5"])
def test_a_seed_out_of_range_is_refused_naming_the_option(tmp_path, command, seed, capsys):
    """--seed -1, 2**64 or 1.5 is refused naming --seed; nothing is written."""
    args = (["train", "--data", TINY, *SMALL, "--out", tmp_path / "m.safetensors"] if command == "train"
            else ["sample", "--checkpoint", tmp_path / "m.safetensors"])
    code, _, err = main([*args, "--seed", seed], capsys)
    assert code == 2
    one_line_error(err, "--seed")
    assert not (tmp_path / "m.safetensors").exists()


def test_the_largest_seed_is_saved_and_loads(tmp_path, capsys):
    """--seed 2**63 - 1 trains, is saved and loads back."""
    code, _, err = main(["train", "--data", TINY, *SMALL, "--seed", 2**63 - 1, "--out",
                         tmp_path / "m.safetensors"], capsys)
    assert code == 0, err
    assert cio.load_checkpoint(tmp_path / "m.safetensors")[2]["seed"] == 2**63 - 1


def test_a_run_whose_parameters_became_nan_keeps_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                           capsys):
    """Params that became NaN are not saved over the last good checkpoint; one line names NaN."""
    path = tmp_path / "m.safetensors"
    assert cio.main(["train", "--data", str(TINY), *SMALL, "--out", str(path)]) == 0
    good = path.read_bytes()
    real_train = core.train

    def train_to_nan(*args, **kwargs):
        result = real_train(*args, **kwargs)
        result.params["Why"][0, 0] = np.nan  # the loss was finite; the last update was not
        return result

    monkeypatch.setattr(core, "train", train_to_nan)
    capsys.readouterr()
    assert cio.main(["train", "--data", str(TINY), *SMALL, "--out", str(path)]) == 2
    one_line_error(capsys.readouterr().err, "NaN")
    assert path.read_bytes() == good


# ------------------------------------------------------------------- Ctrl-C


def start_training(path, iters, sigint):
    """A CLI training run on tiny.txt in the background, printing every 50 updates, with
    SIGINT handled as ``sigint`` and SIGTERM, SIGHUP at their defaults (a child of a
    non-interactive shell would ignore SIGINT)."""
    def handlers():
        signal.signal(signal.SIGINT, sigint)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    return subprocess.Popen([sys.executable, "-m", "charrnn_core", "train", "--data", str(TINY),
                             "--hidden-size", "8", "--seq-length", "10", "--iters", str(iters),
                             "--print-every", "50", "--sample-every", "0", "--checkpoint-every", "0",
                             "--out", str(path)], cwd=path.parent, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=handlers)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                            (signal.SIGHUP, 129)], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_saves_the_last_finished_update_and_exits_128_plus_its_number(tmp_path, signum,
                                                                                   status):
    """Ctrl-C, SIGTERM or SIGHUP mid-training: the last finished update is saved, one line, 128 + n."""
    path = tmp_path / "m.safetensors"
    p = start_training(path, 10_000_000, signal.SIG_DFL)
    try:
        seen = [p.stdout.readline() for _ in range(3)]  # 150 updates done
        assert all(line.startswith("iter") for line in seen), seen
        p.send_signal(signum)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == status
    one_line_error(err, f"stopped by {signal.Signals(signum).name}", str(path))
    _, _, meta = cio.load_checkpoint(path)
    assert meta["iteration"] >= 150 and f"after {meta['iteration']} of 10000000" in err
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


# ------------------------------------------------------------------- stdout


def test_a_stdout_that_cannot_encode_the_text_does_not_end_the_run(tmp_path):
    """An ASCII stdout gets escapes for characters it cannot encode; the run finishes and saves."""
    corpus = tmp_path / "emoji.txt"
    corpus.write_text("hello \U0001F600 world, caf\u00e9! " * 40, encoding="utf-8")
    env = dict(subprocess_env(), PYTHONIOENCODING="ascii")
    code, out, err = cli("train", "--data", corpus, "--iters", 30, "--hidden-size", 8,
                         "--seq-length", 10, "--sample-every", 10, "--print-every", 10,
                         "--out", tmp_path / "m.safetensors", cwd=tmp_path, env=env)
    assert code == 0 and err == "", err
    assert out.count("----\n") == 6 and "saved" in out
    assert cio.load_checkpoint(tmp_path / "m.safetensors")[2]["iteration"] == 30


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small checkpoint for the sampling tests, trained in this process."""
    path = tmp_path_factory.mktemp("trained") / "m.safetensors"
    assert cio.main(["train", "--data", str(TINY), *SMALL, "--print-every", "1000",
                      "--out", str(path)]) == 0
    return path


def test_sample_to_a_closed_pipe_is_one_line_and_status_1(tmp_path, trained):
    """Sampling into a pipe whose reader has quit: one line about stdout, status 1."""
    r, w = os.pipe()
    os.close(r)  # like `| head` that has already quit
    try:
        code, _, err = cli("sample", "--checkpoint", trained, "--length", 2000,
                           cwd=tmp_path, stdout=w)
    finally:
        os.close(w)
    assert code == 1
    one_line_error(err, "stdout")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["train", "sample"])
def test_a_full_stdout_is_one_line_and_status_1_and_training_still_saves(tmp_path, command,
                                                                          trained):
    """stdout on /dev/full: one line, status 1, and training still saves its checkpoint."""
    args = (["train", "--data", TINY, *SMALL, "--out", tmp_path / "n.safetensors"] if command == "train"
            else ["sample", "--checkpoint", trained])
    with open("/dev/full", "w") as full:
        code, _, err = cli(*args, cwd=tmp_path, stdout=full)
    assert code == 1
    one_line_error(err, "stdout")
    if command == "train":
        assert cio.load_checkpoint(tmp_path / "n.safetensors")[2]["iteration"] == 20


def test_vocabulary_control_characters_are_printed_escaped(tmp_path):
    """Escape sequences and bidi controls from the vocabulary are printed as escapes."""
    corpus = tmp_path / "esc.txt"
    corpus.write_text("ab\x1b[2J\x9bcd\u202e" * 60, encoding="utf-8")
    cli("train", "--data", corpus, *SMALL, "--out", tmp_path / "m.safetensors", cwd=tmp_path)
    code, out, err = cli("sample", "--checkpoint", tmp_path / "m.safetensors", "--length", 300,
                         "--prime", "\x1b[2J", cwd=tmp_path)
    assert code == 0, err
    assert out.startswith("\\x1b[2J")
    assert not any(c in out for c in "\x1b\x9b\u202e")
    assert "\\x9b" in out or "\\u202e" in out


# ------------------------------------------------------------------- sizes, data, disk


@pytest.mark.parametrize("args, word", [
    (["train", "--data", TINY, "--hidden-size", 10**9], "--hidden-size"),
    (["train", "--data", TINY, "--iters", 10**13], "--iters"),
    (["sample", "--checkpoint", REPO / "checkpoints" / "shakespeare-h100.safetensors", "--length",
      10**13], "--length"),
    (["train", "--data", "/dev/zero"], "not a regular file"),
])
def test_sizes_too_big_and_endless_data_are_one_line(tmp_path, args, word):
    """Sizes beyond memory and endless data are refused in one line before anything is written."""
    code, out, err = cli(*args, "--seed", 0, cwd=tmp_path, timeout=60)
    assert code == 2
    one_line_error(err, word)
    assert os.listdir(tmp_path) == []


def set_file_size_limit():
    """In the child: files may not grow past 20 kB (a full disk, for this process)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_full_disk_while_saving_is_one_line_and_keeps_the_old_checkpoint(tmp_path):
    """A write that fails for lack of space: one line naming the path, the old checkpoint intact."""
    path = tmp_path / "m.safetensors"
    shutil.copy(REPO / "checkpoints" / "shakespeare-h100.safetensors", path)  # bigger than the limit
    before = path.read_bytes()
    code, _, err = cli("train", "--data", TINY, *SMALL, "--hidden-size", 60, "--out", path,
                       cwd=tmp_path, preexec_fn=set_file_size_limit)
    assert code == 2
    one_line_error(err, "cannot write checkpoint", str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("case", ["tensor of gigabytes claimed", "invalid JSON header", "an extra tensor",
                                  "a text file", "meta unknown key", "chars hold a surrogate"])
def test_a_malformed_checkpoint_is_one_line(tmp_path, case):
    """sample of a hostile checkpoint: status 2, nothing on stdout, one line naming the file."""
    from test_checkpoints import HOSTILE
    path = tmp_path / "bad.safetensors"
    path.write_bytes(HOSTILE[case]())
    code, out, err = cli("sample", "--checkpoint", path, cwd=tmp_path)
    assert code == 2 and out == ""
    one_line_error(err, "bad.safetensors")


# ------------------------------------------------------------------- reproducibility


def test_batched_training_gives_the_same_checkpoint_bytes_with_1_and_2_blas_threads(tmp_path):
    """The checkpoint bytes do not depend on OPENBLAS_NUM_THREADS (the CLI pins one thread)."""
    # T * B = 1000 columns: OpenBLAS splits that sum across threads, changing the last bits
    runs = []
    for threads in ("1", "2"):
        env = dict(subprocess_env(), OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        out = tmp_path / f"t{threads}.safetensors"
        code, _, err = cli("train", "--data", REPO / "data" / "shakespeare.txt", "--hidden-size",
                           32, "--batch-size", 40, "--seq-length", 25, "--iters", 5,
                           "--sample-every", 0, "--checkpoint-every", 0, "--out", out,
                           cwd=tmp_path, env=env)
        assert code == 0, err
        runs.append(out.read_bytes())
    assert runs[0] == runs[1]


def test_main_can_train_from_a_thread_that_is_not_the_main_one(tmp_path, capsys):
    """main() trains from a worker thread (no signal handlers there) and leaves SIGINT's handler."""
    import threading
    before = signal.getsignal(signal.SIGINT)
    status = []
    worker = threading.Thread(target=lambda: status.append(cio.main(
        ["train", "--data", str(TINY), *SMALL, "--out", str(tmp_path / "m.safetensors")])))
    worker.start()
    worker.join(60)
    assert status == [0], capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before


def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path):
    """A run started with SIGINT ignored (nohup, &) ignores Ctrl-C and finishes."""
    # `nohup python -m charrnn_core train ... &`: SIGINT is ignored and must stay ignored
    path = tmp_path / "m.safetensors"
    p = start_training(path, 3000, signal.SIG_IGN)
    try:
        assert p.stdout.readline().startswith("iter")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert cio.load_checkpoint(path)[2]["iteration"] == 3000


def test_ctrl_c_during_the_final_save_does_not_lose_the_run(tmp_path, monkeypatch, capsys):
    """Ctrl-C during the final save is deferred: the save completes, status 0."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("Ctrl-C is ignored in this test run")
    real_save = cio.save_checkpoint

    def save_while_ctrl_c_is_pressed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here
        real_save(*args, **kwargs)

    monkeypatch.setattr(cio, "save_checkpoint", save_while_ctrl_c_is_pressed)
    path = tmp_path / "m.safetensors"
    code, out, err = main(["train", "--data", TINY, *SMALL, "--out", path], capsys)
    assert code == 0, err
    assert cio.load_checkpoint(path)[2]["iteration"] == 20


# ------------------------------------------------------------- the runs of the fixture, continued


def test_train_records_every_training_setting_in_the_checkpoint(runs):
    """The checkpoint's meta holds every META key, with the values the run was given."""
    d, _, _ = runs
    _, _, meta = cio.load_checkpoint(d / "good.safetensors")
    assert set(meta) == set(cio.META)
    text = TINY.read_text(encoding="utf-8")
    assert meta == {"cell": "rnn", "iteration": 20, "smooth_loss": meta["smooth_loss"], "seed": 0,
                    "hidden_size": 8, "seq_length": 10, "batch_size": 1, "learning_rate": 0.1,
                    "clip": 5.0, "clip_mode": "elementwise", "optimizer": "adagrad", "dtype": "float64",
                    "data": "tiny.txt", "train_fraction": 1.0, "train_chars": len(text)}
    again = core.train(text, hidden_size=8, seq_length=10, num_iters=20, seed=0)
    assert meta["smooth_loss"] == float(again.smooth_losses[-1])


def test_sample_at_the_smallest_temperature_prints_the_greedy_text_without_warnings(runs):
    """--temperature 5e-324: each character is the argmax of the model's distribution; stderr empty."""
    d, results, _ = runs
    code, out, err = results["greedy"]
    assert code == 0 and err == "", err
    params, vocab, _ = cio.load_checkpoint(d / "good.safetensors")
    h = core.warm_up(params, vocab.encode(PRIME[:-1]), np.zeros((8, 1)))
    ix, text = vocab.index[PRIME[-1]], PRIME
    for _ in range(80):
        h = np.tanh(params["Wxh"][:, [ix]] + params["Whh"] @ h + params["bh"])
        ix = int(np.argmax(params["Why"] @ h + params["by"]))
        text += vocab.chars[ix]
    assert out == text + "\n"


def test_a_stray_temp_file_with_a_huge_pid_beside_out_does_not_stop_the_save(runs):
    """.checkpoint-99999999999999999999-x.tmp beside --out: training saves as usual."""
    d, results, _ = runs
    code, out, err = results["stray temp file"]
    assert code == 0 and err == "", err
    assert cio.load_checkpoint(d / "stray" / "m.safetensors")[2]["iteration"] == 20


@pytest.mark.parametrize("command", ["train", "sample"])
@pytest.mark.parametrize("how", ["fd 1 closed", "stdout None"])
def test_no_stdout_at_all_is_one_line_and_status_1_and_training_still_saves(runs, command, how):
    """With file descriptor 1 closed or sys.stdout None: one line on stderr, status 1; train saves."""
    d, results, _ = runs
    code, _, err = results[f"{command}, {how}"]
    assert code == 1, err
    one_line_error(err, "stdout")
    if command == "train":
        name = "closed" if how == "fd 1 closed" else "none"
        assert cio.load_checkpoint(d / f"{name}.safetensors")[2]["iteration"] == 20


def test_cli_trains_an_lstm_and_samples_from_its_checkpoint(runs):
    """--cell lstm trains, reports the held-out loss, saves an LSTM checkpoint that samples."""
    d, results, _ = runs
    code, out, err = results["lstm"]
    assert code == 0, err
    params, _, meta = cio.load_checkpoint(d / "lstm.safetensors")
    assert meta["cell"] == "lstm" and params["Wx"].shape[0] == 32 and "held-out loss" in out
    code, out, err = results["lstm sample"]
    assert code == 0 and len(out.rstrip("\n")) == 41, err
    code, _, err = results["lstm bad cell"]
    assert code == 2 and "--cell" in err


# ------------------------------------------------------------------- in this process


def test_a_huge_held_out_loss_is_printed_not_a_crash(tmp_path, monkeypatch, capsys):
    """evaluate returning 800 nats (exp overflows): the held-out line says perplexity inf, status 0."""
    monkeypatch.setattr(core, "evaluate", lambda params, ids, streams=64: 800.0)
    code, out, err = main(["train", "--data", TINY, *SMALL, "--train-fraction", 0.9,
                           "--out", tmp_path / "m.safetensors"], capsys)
    assert code == 0, err
    assert "held-out loss 800.000 nats/char (perplexity inf)" in out


def test_a_fifo_as_data_is_refused_within_seconds(tmp_path):
    """--data naming a FIFO with no writer: status 2, one line, long before a reader would give up."""
    os.mkfifo(tmp_path / "fifo")
    began = time.perf_counter()
    code, _, err = cli("train", "--data", tmp_path / "fifo", "--out", tmp_path / "m.safetensors",
                       cwd=tmp_path, timeout=10)
    assert code == 2 and time.perf_counter() - began < 10
    one_line_error(err, "not a regular file", "fifo")


# ------------------------------------------------------- memory guard, start-up, prime


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_memory_estimate_covers_what_training_really_allocates(cell):
    """_training_bytes is at least the peak NumPy allocation of a real run, for either cell."""
    import tracemalloc
    text = TINY.read_text(encoding="utf-8")
    V, H, T, B, iters = core.Vocab.from_text(text).size, 64, 25, 16, 3
    tracemalloc.start()
    try:
        core.train(text, hidden_size=H, seq_length=T, batch_size=B, num_iters=iters, cell=cell)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = cio._training_bytes(cell, V, H, T, B, iters, len(text), 8)
    assert peak <= estimate < 4 * peak  # enough, and not so much that sizes that fit are refused


def test_the_memory_guard_reads_a_cgroup_limit(tmp_path, monkeypatch, capsys):
    """Inside a container with a 100 MB limit, a run that needs more is refused, naming the options."""
    limit = tmp_path / "memory.max"
    limit.write_text("100000000\n")
    monkeypatch.setattr(cio, "_CGROUP_LIMITS", (str(tmp_path / "missing"), str(limit)))
    assert cio._memory_limit() == 100_000_000
    code, _, err = main(["train", "--data", TINY, "--hidden-size", "3000", "--out",
                         tmp_path / "m.safetensors"], capsys)
    assert code == 2
    one_line_error(err, "--hidden-size 3000", "0.1 GiB")
    limit.write_text("max\n")  # cgroup v2's "no limit"
    assert cio._memory_limit() > 100_000_000


# `python -m charrnn_core train ...`, but saying "up" on stderr once the interpreter itself is
# running. A Ctrl-C before charrnn_core's first line runs (Python's own start-up, runpy finding
# and compiling the module: the first few milliseconds) is Python's, which no program can catch.
AS_MAIN = ("import runpy, sys; sys.stderr.write('up\\n'); sys.stderr.flush(); "
           "runpy.run_module('charrnn_core', run_name='__main__', alter_sys=True)")


@pytest.mark.parametrize("delay", [0.1, 0.2, 0.4, 0.8])
def test_ctrl_c_while_starting_up_shows_no_traceback(tmp_path, delay):
    """SIGINT while NumPy loads, the arguments are read or the text is loaded: 130, no traceback."""
    p = subprocess.Popen([sys.executable, "-c", AS_MAIN, "train", "--data", str(TINY), "--iters",
                          "10000000", "--hidden-size", "8", "--sample-every", "0", "--out",
                          str(tmp_path / "m.safetensors")], cwd=tmp_path, env=subprocess_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert p.stderr.readline() == "up\n"
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert "Traceback" not in err, err
    assert p.returncode == 130, (p.returncode, err)


def test_ctrl_c_after_stdout_broke_still_exits_130(tmp_path):
    """Stdout closed, then Ctrl-C: the run saves and exits 130 (not 1), with one line per problem."""
    path = tmp_path / "m.safetensors"
    r, w = os.pipe()
    os.close(r)
    p = subprocess.Popen([sys.executable, "-m", "charrnn_core", "train", "--data", str(TINY),
                          "--hidden-size", "8", "--seq-length", "10", "--iters", "10000000",
                          "--print-every", "1", "--sample-every", "0", "--checkpoint-every", "0",
                          "--out", str(path)], cwd=tmp_path, env=subprocess_env(), stdout=w,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(w)
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:  # wait until training runs
            time.sleep(0.2)
            if p.poll() is not None:
                break
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err and "stopped by SIGINT" in err and "stdout" in err
    assert cio.load_checkpoint(path)[2]["iteration"] >= 1


def test_a_prime_with_a_lone_surrogate_is_one_line(tmp_path, trained):
    """--prime with bytes that are not UTF-8 (a lone surrogate in argv): one line naming prime."""
    code, _, err = cli("sample", "--checkpoint", trained, "--prime", b"ab\xff".decode("utf-8", "surrogateescape"),
                       cwd=tmp_path)
    assert code == 2
    one_line_error(err, "prime", "surrogate")
