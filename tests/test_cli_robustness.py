"""Issue 14, the command line: it never loses data and never shows a traceback.

Every failure is one line on stderr with exit status 2 (1 when stdout cannot be written,
130 after Ctrl-C), and the files it was given are still there afterwards."""

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
from conftest import REPO, TINY, subprocess_env

SMALL = ["--iters", "20", "--hidden-size", "8", "--seq-length", "10", "--sample-every", "0",
         "--checkpoint-every", "0"]


def cli(*args, cwd, env=None, timeout=120, **popen):
    popen.setdefault("stdout", subprocess.PIPE)
    p = subprocess.Popen([sys.executable, "-m", "charrnn_core", *map(str, args)], cwd=cwd,
                         env=env or subprocess_env(), stderr=subprocess.PIPE, **popen)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, (out or b"").decode("utf-8", "replace"), err.decode("utf-8", "replace")


def main(argv, capsys):
    """Run the command line in this process (fast; for failures found before training)."""
    capsys.readouterr()
    try:
        code = core.main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err, *words):
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err


# ------------------------------------------------------------------- --out


@pytest.mark.parametrize("how", ["same name", "hard link"])
def test_out_naming_the_training_file_is_refused_and_the_corpus_kept(tmp_path, how):
    corpus = tmp_path / "corpus.txt"
    shutil.copy(TINY, corpus)
    out = corpus
    if how == "hard link":
        out = tmp_path / "model.npz"
        os.link(corpus, out)
    code, out, err = cli("train", "--data", corpus, "--out", out, *SMALL, cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--out")
    assert corpus.read_bytes() == TINY.read_bytes()


def test_out_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "store").mkdir()
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "store" / "run1.npz")
    code, _, err = cli("train", "--data", TINY, "--out", link, *SMALL, cwd=tmp_path)
    assert code == 0, err
    assert link.is_symlink() and (tmp_path / "store" / "run1.npz").is_file()
    assert core.load_checkpoint(link)[2]["iteration"] == 20


@pytest.mark.parametrize("kind", ["fifo", "folder", "empty name", "trailing slash",
                                  "name too long", "missing folder"])
def test_an_out_that_cannot_be_written_is_found_before_training(tmp_path, kind, capsys,
                                                               monkeypatch):
    out = {"fifo": tmp_path / "pipe", "folder": tmp_path, "empty name": "",
           "trailing slash": str(tmp_path / "new") + "/", "name too long": "x" * 300 + ".npz",
           "missing folder": tmp_path / "nope" / "m.npz"}[kind]
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
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, stdout, err = cli("train", "--data", TINY, "--out", folder / "m.npz", *SMALL,
                                "--print-every", 1, cwd=tmp_path)
    finally:
        folder.chmod(0o755)
    assert code == 2 and "iter" not in stdout
    one_line_error(err, "--out")


# ------------------------------------------------------------------- --seed


@pytest.mark.parametrize("command", ["train", "sample"])
@pytest.mark.parametrize("seed", ["-1", str(2**64), "1.5"])
def test_a_seed_out_of_range_is_refused_naming_the_option(tmp_path, command, seed, capsys):
    args = (["train", "--data", TINY, *SMALL, "--out", tmp_path / "m.npz"] if command == "train"
            else ["sample", "--checkpoint", tmp_path / "m.npz"])
    code, _, err = main([*args, "--seed", seed], capsys)
    assert code == 2
    one_line_error(err, "--seed")
    assert not (tmp_path / "m.npz").exists()


def test_the_largest_seed_is_saved_and_loads(tmp_path, capsys):
    code, _, err = main(["train", "--data", TINY, *SMALL, "--seed", 2**63 - 1, "--out",
                         tmp_path / "m.npz"], capsys)
    assert code == 0, err
    assert core.load_checkpoint(tmp_path / "m.npz")[2]["seed"] == 2**63 - 1


def test_a_run_whose_parameters_became_nan_keeps_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                           capsys):
    path = tmp_path / "m.npz"
    assert core.main(["train", "--data", str(TINY), *SMALL, "--out", str(path)]) == 0
    good = path.read_bytes()
    real_train = core.train

    def train_to_nan(*args, **kwargs):
        result = real_train(*args, **kwargs)
        result.params["Why"][0, 0] = np.nan  # the loss was finite; the last update was not
        return result

    monkeypatch.setattr(core, "train", train_to_nan)
    capsys.readouterr()
    assert core.main(["train", "--data", str(TINY), *SMALL, "--out", str(path)]) == 2
    one_line_error(capsys.readouterr().err, "NaN")
    assert path.read_bytes() == good


# ------------------------------------------------------------------- Ctrl-C


def start_training(path, iters, sigint):
    """A CLI training run on tiny.txt in the background, printing every 50 updates, with
    SIGINT handled as ``sigint`` (a child of a non-interactive shell would ignore it)."""
    return subprocess.Popen([sys.executable, "-m", "charrnn_core", "train", "--data", str(TINY),
                             "--hidden-size", "8", "--seq-length", "10", "--iters", str(iters),
                             "--print-every", "50", "--sample-every", "0", "--checkpoint-every", "0",
                             "--out", str(path)], cwd=path.parent, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))


def test_ctrl_c_saves_the_last_finished_update_and_exits_130(tmp_path):
    path = tmp_path / "m.npz"
    p = start_training(path, 10_000_000, signal.SIG_DFL)
    try:
        seen = [p.stdout.readline() for _ in range(3)]  # 150 updates done
        assert all(line.startswith("iter") for line in seen), seen
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130
    one_line_error(err, "interrupted", str(path))
    _, _, meta = core.load_checkpoint(path)
    assert meta["iteration"] >= 150 and f"after {meta['iteration']} of" in err
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


# ------------------------------------------------------------------- stdout


def test_a_stdout_that_cannot_encode_the_text_does_not_end_the_run(tmp_path):
    corpus = tmp_path / "emoji.txt"
    corpus.write_text("hello \U0001F600 world, caf\u00e9! " * 40, encoding="utf-8")
    env = dict(subprocess_env(), PYTHONIOENCODING="ascii")
    code, out, err = cli("train", "--data", corpus, "--iters", 30, "--hidden-size", 8,
                         "--seq-length", 10, "--sample-every", 10, "--print-every", 10,
                         "--out", tmp_path / "m.npz", cwd=tmp_path, env=env)
    assert code == 0 and err == "", err
    assert out.count("----\n") == 6 and "saved" in out
    assert core.load_checkpoint(tmp_path / "m.npz")[2]["iteration"] == 30


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small checkpoint for the sampling tests."""
    path = tmp_path_factory.mktemp("trained") / "m.npz"
    assert core.main(["train", "--data", str(TINY), *SMALL, "--print-every", "1000",
                      "--out", str(path)]) == 0
    return path


def test_sample_to_a_closed_pipe_is_one_line_and_status_1(tmp_path, trained):
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
    args = (["train", "--data", TINY, *SMALL, "--out", tmp_path / "n.npz"] if command == "train"
            else ["sample", "--checkpoint", trained])
    with open("/dev/full", "w") as full:
        code, _, err = cli(*args, cwd=tmp_path, stdout=full)
    assert code == 1
    one_line_error(err, "stdout")
    if command == "train":
        assert core.load_checkpoint(tmp_path / "n.npz")[2]["iteration"] == 20


def test_vocabulary_control_characters_are_printed_escaped(tmp_path):
    corpus = tmp_path / "esc.txt"
    corpus.write_text("ab\x1b[2J\x9bcd\u202e" * 60, encoding="utf-8")
    cli("train", "--data", corpus, *SMALL, "--out", tmp_path / "m.npz", cwd=tmp_path)
    code, out, err = cli("sample", "--checkpoint", tmp_path / "m.npz", "--length", 300,
                         "--prime", "\x1b[2J", cwd=tmp_path)
    assert code == 0, err
    assert out.startswith("\\x1b[2J")
    assert not any(c in out for c in "\x1b\x9b\u202e")
    assert "\\x9b" in out or "\\u202e" in out


# ------------------------------------------------------------------- sizes, data, disk


@pytest.mark.parametrize("args, word", [
    (["train", "--data", TINY, "--hidden-size", 10**9], "--hidden-size"),
    (["train", "--data", TINY, "--iters", 10**13], "--iters"),
    (["sample", "--checkpoint", REPO / "checkpoints" / "shakespeare-h100.npz", "--length",
      10**13], "--length"),
    (["train", "--data", "/dev/zero"], "larger than"),
])
def test_sizes_too_big_and_endless_data_are_one_line(tmp_path, args, word):
    code, out, err = cli(*args, "--seed", 0, cwd=tmp_path, timeout=60)
    assert code == 2
    one_line_error(err, word)
    assert os.listdir(tmp_path) == []


def set_file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_full_disk_while_saving_is_one_line_and_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "m.npz"
    shutil.copy(REPO / "checkpoints" / "shakespeare-h100.npz", path)  # bigger than the limit
    before = path.read_bytes()
    code, _, err = cli("train", "--data", TINY, *SMALL, "--hidden-size", 60, "--out", path,
                       cwd=tmp_path, preexec_fn=set_file_size_limit)
    assert code == 2
    one_line_error(err, "cannot write checkpoint", str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize("case", ["unknown compression", "enormous shape", "extra member",
                                  "text file"])
def test_a_malformed_checkpoint_is_one_line(tmp_path, case):
    from test_robustness import malformed
    model = core.init_params(4, 3, np.random.default_rng(0)), core.Vocab("abcd")
    path = tmp_path / "bad.npz"
    path.write_bytes(malformed(case, model))
    code, out, err = cli("sample", "--checkpoint", path, cwd=tmp_path)
    assert code == 2 and out == ""
    one_line_error(err, "bad.npz")
    assert "allow_pickle" not in err


# ------------------------------------------------------------------- reproducibility


def test_batched_training_gives_the_same_checkpoint_bytes_with_1_and_2_blas_threads(tmp_path):
    # T * B = 1000 columns: OpenBLAS splits that sum across threads, changing the last bits
    runs = []
    for threads in ("1", "2"):
        env = dict(subprocess_env(), OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        out = tmp_path / f"t{threads}.npz"
        code, _, err = cli("train", "--data", REPO / "data" / "shakespeare.txt", "--hidden-size",
                           32, "--batch-size", 40, "--seq-length", 25, "--iters", 5,
                           "--sample-every", 0, "--checkpoint-every", 0, "--out", out,
                           cwd=tmp_path, env=env)
        assert code == 0, err
        runs.append(out.read_bytes())
    assert runs[0] == runs[1]


def test_main_can_train_from_a_thread_that_is_not_the_main_one(tmp_path, capsys):
    import threading
    before = signal.getsignal(signal.SIGINT)
    status = []
    worker = threading.Thread(target=lambda: status.append(core.main(
        ["train", "--data", str(TINY), *SMALL, "--out", str(tmp_path / "m.npz")])))
    worker.start()
    worker.join(60)
    assert status == [0], capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before


def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path):
    # `nohup python -m charrnn_core train ... &`: SIGINT is ignored and must stay ignored
    path = tmp_path / "m.npz"
    p = start_training(path, 3000, signal.SIG_IGN)
    try:
        assert p.stdout.readline().startswith("iter")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert core.load_checkpoint(path)[2]["iteration"] == 3000


def test_ctrl_c_during_the_final_save_does_not_lose_the_run(tmp_path, monkeypatch, capsys):
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("Ctrl-C is ignored in this test run")
    real_save = core.save_checkpoint

    def save_while_ctrl_c_is_pressed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here
        real_save(*args, **kwargs)

    monkeypatch.setattr(core, "save_checkpoint", save_while_ctrl_c_is_pressed)
    path = tmp_path / "m.npz"
    code, out, err = main(["train", "--data", TINY, *SMALL, "--out", path], capsys)
    assert code == 0, err
    assert core.load_checkpoint(path)[2]["iteration"] == 20
