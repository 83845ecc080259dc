"""Issue 14, the library side: nothing is saved that loading would refuse, a save never
loses the old checkpoint, a malformed checkpoint is one ValueError (no pickles, no
unbounded decompression), and public functions name the argument they cannot use."""

import os
import re
import signal
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import charrnn_core as core
from conftest import subprocess_env


@pytest.fixture
def model():
    return core.init_params(4, 3, np.random.default_rng(0), scale=0.1), core.Vocab("abcd")


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------- save never writes what load refuses


@pytest.mark.parametrize("case", ["nan", "inf", "seed 2**64", "object meta", "vocab size",
                                  "float16", "list meta", "NUL-ended chars", "NUL-ended meta"])
def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path, model, case):
    params, vocab = model
    path = tmp_path / "m.npz"
    core.save_checkpoint(path, params, vocab, iteration=1)
    before = path.read_bytes()
    bad, meta, bad_vocab = {k: v.copy() for k, v in params.items()}, {}, vocab
    if case == "nan":
        bad["Whh"][1, 2] = np.nan
    elif case == "inf":
        bad["by"][0, 0] = -np.inf
    elif case == "seed 2**64":
        meta["seed"] = 2**64
    elif case == "object meta":
        meta["note"] = {"a": 1}
    elif case == "list meta":
        meta["history"] = [1, 2]
    elif case == "vocab size":
        bad_vocab = core.Vocab("abcde")
    elif case == "float16":
        bad = {k: v.astype(np.float16) for k, v in bad.items()}
    elif case == "NUL-ended chars":  # NumPy's str arrays would drop the NUL: V=4 becomes 3
        bad_vocab = core.Vocab("abc\0")
    elif case == "NUL-ended meta":
        meta["data"] = "corpus.txt\0"
    with pytest.raises(ValueError):
        core.save_checkpoint(path, bad, bad_vocab, **meta)
    assert path.read_bytes() == before
    assert listing(tmp_path) == ["m.npz"]


def test_the_largest_64_bit_meta_values_round_trip(tmp_path, model):
    params, vocab = model
    core.save_checkpoint(tmp_path / "m.npz", params, vocab, seed=2**63 - 1, low=-2**63, ok=True)
    _, _, meta = core.load_checkpoint(tmp_path / "m.npz")
    assert meta == {"seed": 2**63 - 1, "low": -2**63, "ok": True, "cell": "rnn"}


def test_the_same_checkpoint_gives_the_same_bytes(tmp_path, model):
    # no timestamps inside: byte equality of checkpoints means equal models
    params, vocab = model
    core.save_checkpoint(tmp_path / "a.npz", params, vocab, iteration=3)
    os.utime(tmp_path / "a.npz", (0, 0))
    core.save_checkpoint(tmp_path / "b.npz", params, vocab, iteration=3)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert np.load(tmp_path / "a.npz")["Whh"].tobytes() == params["Whh"].tobytes()


def test_save_writes_through_a_symlink_to_its_target(tmp_path, model):
    params, vocab = model
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "m.npz"
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    core.save_checkpoint(link, params, vocab, iteration=7)
    assert link.is_symlink() and target.is_file()
    assert core.load_checkpoint(target)[2] == {"iteration": 7, "cell": "rnn"}


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_save_refuses_to_replace_something_that_is_not_a_regular_file(tmp_path, model, kind):
    params, vocab = model
    path = tmp_path / "thing"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(ValueError, match=re.escape(str(path))):
        core.save_checkpoint(path, params, vocab)
    assert path.is_fifo() if kind == "fifo" else path.is_dir()
    assert listing(tmp_path) == ["thing"]


def test_ctrl_c_just_after_the_rename_raises_keyboard_interrupt_not_a_cleanup_error(
        tmp_path, model, monkeypatch):
    params, vocab = model
    path = tmp_path / "m.npz"
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(core.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        core.save_checkpoint(path, params, vocab, iteration=9)
    monkeypatch.undo()
    assert core.load_checkpoint(path)[2] == {"iteration": 9, "cell": "rnn"}
    assert listing(tmp_path) == ["m.npz"]


KILLED_WHILE_SAVING = """
import os, signal, numpy as np, charrnn_core as core
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)   # die with the temp file written
core.save_checkpoint({path!r}, core.init_params(4, 3, np.random.default_rng(0)), core.Vocab("abcd"))
"""


def test_temp_files_of_killed_processes_do_not_pile_up(tmp_path, model):
    params, vocab = model
    path = tmp_path / "m.npz"
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING.format(path=str(path))],
                           env=subprocess_env(), capture_output=True, timeout=60)
        assert p.returncode == -signal.SIGKILL, p.stderr
    assert len(listing(tmp_path)) == 1  # the second process removed the first one's temp file
    core.save_checkpoint(path, params, vocab)
    assert listing(tmp_path) == ["m.npz"]


# ------------------------------------------------------------- malformed checkpoints


def zip_bytes(members, compression=zipfile.ZIP_STORED):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return bytearray(buf.getvalue())


def npy_bytes(a):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a))
    return buf.getvalue()


def good_members(model):
    params, vocab = model
    members = {f"{k}.npy": npy_bytes(v) for k, v in params.items()}
    members["chars.npy"] = npy_bytes(np.array(vocab.chars))
    return members


def set_flag_and_method(data, flag=None, method=None):
    """Rewrite every local and central zip header's flag bits and/or compression method."""
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for m in re.finditer(re.escape(sig), bytes(data)):
            at = m.start() + off
            if flag is not None:
                data[at:at + 2] = struct.pack("<H", flag)
            if method is not None:
                data[at + 2:at + 4] = struct.pack("<H", method)
    return data


def enormous_header(shape):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
    header["shape"] = shape
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 64


def malformed(case, model):
    members = good_members(model)
    if case == "corrupted deflate":
        data = zip_bytes(members, zipfile.ZIP_DEFLATED)
        at = bytes(data).index(b"PK\x03\x04", 10) - 40  # inside the first member's stream
        data[at:at + 8] = b"\xff" * 8
        return data
    if case == "encrypted":
        return set_flag_and_method(zip_bytes(members), flag=1)
    if case == "unknown compression":
        return set_flag_and_method(zip_bytes(members), method=93)
    if case == "member not .npy":
        members["notes.txt"] = b"hello"
        return zip_bytes(members)
    if case == "member not an array":
        members["Whh.npy"] = b"just some bytes, no npy magic"
        return zip_bytes(members)
    if case == "pickled member":
        members["meta_x.npy"] = npy_bytes(np.array([{"a": 1}], dtype=object))
        return zip_bytes(members)
    if case == "enormous shape":
        members["Whh.npy"] = enormous_header((100_000, 100_000))
        return zip_bytes(members)
    if case == "extra member":
        members["junk.npy"] = npy_bytes(np.zeros(3))
        return zip_bytes(members)
    if case == "text file":
        return bytearray(b"this is not a checkpoint\n" * 10)
    raise KeyError(case)


MALFORMED = ["corrupted deflate", "encrypted", "unknown compression", "member not .npy",
             "member not an array", "pickled member", "enormous shape", "extra member",
             "text file"]


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_checkpoint_is_one_value_error_naming_the_path(tmp_path, model, case):
    path = tmp_path / "bad.npz"
    path.write_bytes(malformed(case, model))
    with pytest.raises(ValueError, match=re.escape(str(path))) as e:
        core.load_checkpoint(path)
    assert "allow_pickle" not in str(e.value)


@pytest.mark.parametrize("path", ["/dev/zero", "fifo"])
def test_a_checkpoint_path_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, path):
    if path == "fifo":  # opening a FIFO with no writer would wait forever
        path = tmp_path / "fifo"
        os.mkfifo(path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not a regular file"):
        core.load_checkpoint(path)


def test_the_malformed_fixtures_differ_from_a_good_checkpoint_only_by_the_defect(tmp_path, model):
    # the same members, stored or deflated, load fine: each failure above is its defect's
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = tmp_path / "good.npz"
        path.write_bytes(zip_bytes(good_members(model), compression))
        params, vocab, meta = core.load_checkpoint(path)
        assert vocab == model[1] and np.array_equal(params["Whh"], model[0]["Whh"])


ZIP_BOMB = """
import resource, sys, zipfile, zlib, numpy as np, charrnn_core as core
path = sys.argv[1]
try:
    core.load_checkpoint(path)
    print("loaded")
except ValueError as e:
    print("refused", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_a_small_file_claiming_a_huge_member_is_refused_without_decompressing_it(tmp_path,
                                                                               model):
    # 300 MB of zeros deflate to 300 kB; the loader must not inflate them
    path = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
    header["shape"] = (6000, 6250)
    import io
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in good_members(model).items():
            if name != "Whh.npy":
                zf.writestr(name, data)
        with zf.open("Whh.npy", "w", force_zip64=True) as m:
            m.write(head.getvalue())
            zeros = bytes(2**22)
            for start in range(0, 6000 * 6250 * 8, len(zeros)):  # all the bytes it claims
                m.write(zeros[:6000 * 6250 * 8 - start])
    assert path.stat().st_size < 2_000_000
    p = subprocess.run([sys.executable, "-c", ZIP_BOMB, str(path)], env=subprocess_env(),
                       capture_output=True, text=True, timeout=120)
    verdict, peak_mb = p.stdout.split()
    assert verdict == "refused" and int(peak_mb) < 150, p.stdout


# ------------------------------------------------------------- arguments named


def case_args(name):
    params = core.init_params(4, 3, np.random.default_rng(0))
    ids = np.array([0, 1, 2, 3, 0, 1])
    text = "abcd" * 20
    return {
        "hprev as a list": (lambda: core.forward(params, [0, 1], [1, 2], [[0.0], [0.0], [0.0]]),
                            "hprev"),
        "encode bytes": (lambda: core.Vocab("abcd").encode(b"abc"), "text"),
        "params as lists": (lambda: core.loss_and_grads({k: v.tolist() for k, v in params.items()},
                                                        [0, 1], [1, 2], np.zeros((3, 1))),
                            "params"),
        "one_hot(1.5, 3)": (lambda: core.one_hot(1.5, 3), "ix"),
        "one_hot(1, 3.0)": (lambda: core.one_hot(1, 3.0), "vocab_size"),
        "batch_streams B=0": (lambda: core.batch_streams(ids, 0, 2), "batch_size"),
        "batch_streams of floats": (lambda: core.batch_streams(ids * 1.0, 1, 2), "data"),
        "train learning_rate str": (lambda: core.train(text, seq_length=5, num_iters=1,
                                                       learning_rate="0.1"), "learning_rate"),
        "train learning_rate inf": (lambda: core.train(text, seq_length=5, num_iters=1,
                                                       learning_rate=float("inf")),
                                    "learning_rate"),
        "train clip str": (lambda: core.train(text, seq_length=5, num_iters=1, clip="5"), "clip"),
        "train float16": (lambda: core.train(text, seq_length=5, num_iters=1,
                                             dtype=np.float16), "dtype"),
        "train seed -1": (lambda: core.train(text, seq_length=5, num_iters=1, seed=-1), "seed"),
        "grad_check 0 checks": (lambda: core.grad_check(params, [0, 1], [1, 2], np.zeros((3, 1)),
                                                        num_checks=0,
                                                        rng=np.random.default_rng(0)),
                                "num_checks"),
        "load_text limit": (lambda: core.load_text("/dev/zero", max_bytes=1000), "larger than"),
    }[name]


@pytest.mark.parametrize("name", ["hprev as a list", "encode bytes", "params as lists",
                                  "one_hot(1.5, 3)", "one_hot(1, 3.0)", "batch_streams B=0",
                                  "batch_streams of floats", "train learning_rate str",
                                  "train learning_rate inf", "train clip str", "train float16",
                                  "train seed -1", "grad_check 0 checks", "load_text limit"])
def test_public_functions_name_the_argument_they_cannot_use(name):
    call, word = case_args(name)
    with pytest.raises((ValueError, TypeError), match=re.escape(word)):
        call()
