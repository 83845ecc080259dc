"""Unit tests of charrnn_io's files: load_text, and safetensors checkpoints (save, load,
check, atomic writes, hostile files).

Hostile checkpoints are written by hand (``safetensors_bytes``: struct + json, not the
safetensors library), each one a good file changed by one defect; every one must be
refused as ONE ValueError naming the path, never another exception."""

import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import charrnn_core as core
import charrnn_io as cio
from conftest import lstm_case, subprocess_env


@pytest.fixture
def model():
    """A small RNN over the vocabulary "abcd": (params, vocab)."""
    return core.init_params(4, 3, np.random.default_rng(0), scale=0.1), core.Vocab("abcd")


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def refused(path, match=""):
    """Assert load_checkpoint(path) raises exactly one ValueError naming path (and ``match``)."""
    with pytest.raises(Exception) as e:
        cio.load_checkpoint(path)
    assert type(e.value) is ValueError, f"{type(e.value).__name__}: {e.value}"
    assert str(path) in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert re.search(match, str(e.value)), str(e.value)
    return str(e.value)


# ------------------------------------------------------------------- text files


def test_load_text_reads_utf8(tmp_path):
    """A UTF-8 file comes back as its text."""
    path = tmp_path / "ok.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    assert cio.load_text(path) == "héllo wörld\n"


@pytest.mark.parametrize("case, content, words", [
    ("missing", None, ""),
    ("empty", b"", "empty"),
    ("one distinct character", b"aaaaaaaa", "1 distinct"),
    ("binary", bytes(range(256)), "not UTF-8"),
    ("folder", "folder", "not a regular file|Is a directory"),
])
def test_load_text_refuses_a_file_it_cannot_train_on_naming_the_path(tmp_path, case, content, words):
    """Missing, empty, one-character, non-UTF-8 files and folders: one ValueError naming the path."""
    path = tmp_path / "data.txt"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*(" + words + ")"):
        cio.load_text(path)


def run_with_timeout(fn, seconds=5):
    """fn() in a thread; fail if it does not return within ``seconds`` (it would block forever)."""
    box = []
    worker = threading.Thread(target=lambda: box.append(_outcome(fn)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"still blocked after {seconds} s"
    return box[0]


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # returned, to be checked by the caller
        return e


@pytest.mark.parametrize("loader", ["load_text", "load_checkpoint"])
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, loader, kind):
    """A FIFO with no writer and /dev/zero are refused at once as "not a regular file"."""
    path = "/dev/zero" if kind == "/dev/zero" else tmp_path / "fifo"
    if kind == "fifo":
        os.mkfifo(path)
    e = run_with_timeout(lambda: getattr(cio, loader)(path))
    assert type(e) is ValueError and re.search(re.escape(str(path)) + ".*not a regular file", str(e)), e


def test_load_text_reads_at_most_max_bytes(tmp_path):
    """A file larger than max_bytes is refused, naming the limit."""
    path = tmp_path / "big.txt"
    path.write_text("ab" * 1000)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*larger than the limit of 1,000"):
        cio.load_text(path, max_bytes=1000)
    assert cio.load_text(path, max_bytes=2000) == "ab" * 1000


# ------------------------------------------------------------------- round trips


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_params_round_trip_bit_for_bit(tmp_path, cell, dtype):
    """Saved and loaded params have the same dtype and bytes, for both cells and both floats."""
    rng = np.random.default_rng(3)
    params = {k: rng.standard_normal(s).astype(dtype)
              for k, s in core.CELLS[cell].param_shapes(5, 4).items()}
    params["by"][0, 0] = np.finfo(dtype).tiny / 4        # a subnormal survives too
    params["by"][1, 0] = -0.0
    vocab = core.Vocab("ab\ncé")
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, params, vocab, iteration=12, smooth_loss=3.25, data="tiny.txt")
    got, got_vocab, meta = cio.load_checkpoint(path)
    assert got_vocab == vocab and got_vocab.chars == "ab\ncé"
    assert set(got) == set(params)
    for k in params:
        assert got[k].dtype == dtype and got[k].shape == params[k].shape
        assert got[k].tobytes() == params[k].tobytes(), k
    assert meta == {"iteration": 12, "smooth_loss": 3.25, "data": "tiny.txt", "cell": cell}


def test_every_meta_key_round_trips_with_its_type(tmp_path, model):
    """Each META key comes back with META's type: ints as int, floats as float (3 -> 3.0)."""
    params, vocab = model
    values = {"str": "x\0y \u00e9", "int": 2**63 - 1, "float": 3}
    meta = {k: values[t.__name__] for k, t in cio.META.items() if k != "cell"}
    cio.save_checkpoint(tmp_path / "m.safetensors", params, vocab, **meta)
    _, _, got = cio.load_checkpoint(tmp_path / "m.safetensors")
    assert set(got) == set(cio.META)
    for k, t in cio.META.items():
        assert type(got[k]) is t, k
    assert got["smooth_loss"] == 3.0 and got["seed"] == 2**63 - 1 and got["data"] == "x\0y \u00e9"


def test_the_largest_64_bit_meta_values_round_trip(tmp_path, model):
    """2**63 - 1 and -2**63 fit in meta and come back exactly."""
    params, vocab = model
    cio.save_checkpoint(tmp_path / "m.safetensors", params, vocab, seed=2**63 - 1, iteration=-2**63)
    _, _, meta = cio.load_checkpoint(tmp_path / "m.safetensors")
    assert meta == {"seed": 2**63 - 1, "iteration": -2**63, "cell": "rnn"}


def test_a_vocabulary_with_a_nul_and_astral_characters_round_trips(tmp_path):
    """chars is stored as code points: a NUL or U+1F600 is kept (V stays what params say)."""
    params = core.init_params(4, 3, np.random.default_rng(0))
    vocab = core.Vocab("\0ab\U0001F600")
    cio.save_checkpoint(tmp_path / "m.safetensors", params, vocab)
    assert cio.load_checkpoint(tmp_path / "m.safetensors")[1] == vocab


def test_an_lstm_checkpoint_records_its_cell_and_a_mismatched_cell_is_refused(tmp_path):
    """An LSTM checkpoint says cell 'lstm'; saving LSTM params as cell='rnn' is refused."""
    params, *_ = lstm_case(V=4, H=3, T=1, seed=1)
    vocab = core.Vocab("abcd")
    cio.save_checkpoint(tmp_path / "m.safetensors", params, vocab, iteration=5)
    got, got_vocab, meta = cio.load_checkpoint(tmp_path / "m.safetensors")
    assert meta == {"cell": "lstm", "iteration": 5} and got_vocab == vocab
    assert all(np.array_equal(got[k], params[k]) for k in core.LSTM_PARAM_NAMES)
    with pytest.raises(ValueError, match="cell='rnn' but params are for cell 'lstm'"):
        cio.save_checkpoint(tmp_path / "x.safetensors", params, vocab, cell="rnn")
    assert not (tmp_path / "x.safetensors").exists()


def test_the_same_arguments_give_the_same_bytes(tmp_path, model):
    """No timestamps or unordered keys inside: equal arguments, byte-equal files."""
    params, vocab = model
    meta = dict(iteration=3, smooth_loss=1.5, data="d.txt", seed=4, learning_rate=0.1)
    cio.save_checkpoint(tmp_path / "a.safetensors", params, vocab, **meta)
    os.utime(tmp_path / "a.safetensors", (0, 0))
    cio.save_checkpoint(tmp_path / "b.safetensors", params, vocab, **dict(reversed(meta.items())))
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_shipped_checkpoints_load_and_fit_their_vocabulary():
    """Every checkpoints/*.safetensors loads, with the params of the cell its meta names."""
    from conftest import REPO
    paths = sorted((REPO / "checkpoints").glob("*.safetensors"))
    assert any(p.name == "shakespeare-h100.safetensors" for p in paths)
    for path in paths:
        params, vocab, meta = cio.load_checkpoint(path)
        assert core.cell_of(params) == meta.get("cell", "rnn"), path.name
        assert core.check_params(params)[0] == vocab.size, path.name


# ------------------------------------------------- save never writes what load refuses


SAVE_REFUSES = {
    "nan": ({"Whh": (1, 2, np.nan)}, {}, None),
    "inf": ({"by": (0, 0, -np.inf)}, {}, None),
    "float16": ("float16", {}, None),
    "vocab size": ({}, {}, "abcde"),
    "seed 2**64": ({}, {"seed": 2**64}, None),
    "seed np.uint64(2**63)": ({}, {"seed": np.uint64(2**63)}, None),
    "complex128 int": ({}, {"iteration": np.complex128(1)}, None),
    "clongdouble float": ({}, {"smooth_loss": np.clongdouble(1)}, None),
    "timedelta64 int": ({}, {"iteration": np.timedelta64(1)}, None),
    "timedelta64 float": ({}, {"smooth_loss": np.timedelta64(1)}, None),
    "huge int for a float": ({}, {"smooth_loss": 10**400}, None),
    "NaN for a float": ({}, {"smooth_loss": float("nan")}, None),
    "True for an int": ({}, {"iteration": True}, None),
    "np.bool_ for a float": ({}, {"learning_rate": np.bool_(True)}, None),
    "str for an int": ({}, {"iteration": "12"}, None),
    "int for a str": ({}, {"data": 5}, None),
    "dict meta": ({}, {"data": {"a": 1}}, None),
    "list meta": ({}, {"iteration": [1, 2]}, None),
    "unknown key": ({}, {"note": "hi"}, None),
    "unknown cell": ({}, {"cell": "gru"}, None),
    "lone surrogate in a str": ({}, {"data": "corpus\ud800.txt"}, None),
}


@pytest.mark.parametrize("case", SAVE_REFUSES)
def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path, model, case):
    """A bad param, vocabulary or meta value: ValueError (TypeError for a wrong kind), old file intact."""
    params, vocab = model
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, params, vocab, iteration=1)
    before = path.read_bytes()
    change, meta, chars = SAVE_REFUSES[case]
    bad = {k: v.copy() for k, v in params.items()}
    if change == "float16":
        bad = {k: v.astype(np.float16) for k, v in bad.items()}
    else:
        for name, (i, j, value) in change.items():
            bad[name][i, j] = value
    with pytest.raises((ValueError, TypeError)):
        cio.save_checkpoint(path, bad, core.Vocab(chars) if chars else vocab, **meta)
    assert path.read_bytes() == before
    assert listing(tmp_path) == ["m.safetensors"]


def test_check_checkpoint_returns_meta_typed_and_refuses_a_vocab_that_is_not_one(model):
    """check_checkpoint: meta with META's types back; a str as vocab is a TypeError naming vocab."""
    params, vocab = model
    assert cio.check_checkpoint(params, vocab, {"iteration": np.int64(3), "clip": 5}) == \
        {"iteration": 3, "clip": 5.0}
    assert type(cio.check_meta({"iteration": np.int64(3)})["iteration"]) is int
    with pytest.raises(TypeError, match="vocab"):
        cio.check_checkpoint(params, "abcd", {})
    with pytest.raises(TypeError, match="meta must be a dict"):
        cio.check_meta([("iteration", 1)])


# ------------------------------------------------------------------- atomic writes


def test_a_crash_while_saving_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, model, monkeypatch):
    """A failed write (disk full) is a ValueError naming the path; the old file stays, no temp file."""
    params, vocab = model
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, params, vocab, iteration=1)
    old_bytes = path.read_bytes()

    def crash(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", crash)
    new_params = core.init_params(4, 3, np.random.default_rng(1))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*simulated"):
        cio.save_checkpoint(path, new_params, vocab, iteration=2)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert listing(tmp_path) == ["m.safetensors"]
    loaded, _, meta = cio.load_checkpoint(path)
    assert meta["iteration"] == 1 and np.array_equal(loaded["Wxh"], params["Wxh"])


def test_saving_over_a_checkpoint_replaces_it(tmp_path, model):
    """A second save replaces the first file's content; nothing else is left in the folder."""
    params, vocab = model
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, params, vocab)
    new = core.init_params(4, 3, np.random.default_rng(1))
    cio.save_checkpoint(path, new, vocab, iteration=5)
    loaded, _, meta = cio.load_checkpoint(path)
    assert meta == {"iteration": 5, "cell": "rnn"} and np.array_equal(loaded["Whh"], new["Whh"])
    assert listing(tmp_path) == ["m.safetensors"]


def test_saved_checkpoint_has_ordinary_file_permissions(tmp_path, model):
    """The file gets 0o666 minus the umask, not mkstemp's private 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, *model)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_save_writes_through_a_symlink_to_its_target(tmp_path, model):
    """Saving to a symlink writes its target and keeps the link."""
    params, vocab = model
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "m.safetensors"
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    cio.save_checkpoint(link, params, vocab, iteration=7)
    assert link.is_symlink() and target.is_file()
    assert cio.load_checkpoint(target)[2] == {"iteration": 7, "cell": "rnn"}


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing folder"])
def test_save_refuses_a_path_it_cannot_replace_naming_it(tmp_path, model, kind):
    """A FIFO, a folder or a missing folder as the path: ValueError naming it, nothing changed."""
    params, vocab = model
    path = tmp_path / "thing"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = tmp_path / "no-such-folder" / "m.safetensors"
    with pytest.raises(ValueError, match=re.escape(str(path))):
        cio.save_checkpoint(path, params, vocab)
    if kind == "fifo":
        assert path.is_fifo()
    elif kind == "folder":
        assert path.is_dir()
    assert listing(tmp_path) == ([] if kind == "missing folder" else ["thing"])


def test_ctrl_c_just_after_the_rename_raises_keyboard_interrupt_not_a_cleanup_error(
        tmp_path, model, monkeypatch):
    """KeyboardInterrupt right after os.replace propagates; the new file is whole, no temp file."""
    params, vocab = model
    path = tmp_path / "m.safetensors"
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(cio.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cio.save_checkpoint(path, params, vocab, iteration=9)
    monkeypatch.undo()
    assert cio.load_checkpoint(path)[2] == {"iteration": 9, "cell": "rnn"}
    assert listing(tmp_path) == ["m.safetensors"]


KILLED_WHILE_SAVING = """
import os, signal, numpy as np, charrnn_core as core, charrnn_io as cio
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)   # die with the temp file written
cio.save_checkpoint({path!r}, core.init_params(4, 3, np.random.default_rng(0)), core.Vocab("abcd"))
"""


def test_temp_files_of_killed_processes_do_not_pile_up(tmp_path, model):
    """A process killed mid-save leaves a temp file; the next save removes it."""
    params, vocab = model
    path = tmp_path / "m.safetensors"
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING.format(path=str(path))],
                           env=subprocess_env(), capture_output=True, timeout=60)
        assert p.returncode == -signal.SIGKILL, p.stderr
    assert len(listing(tmp_path)) == 1  # the second process removed the first one's temp file
    assert listing(tmp_path)[0].startswith(".checkpoint-")
    cio.save_checkpoint(path, params, vocab)
    assert listing(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("name", [".checkpoint-99999999999999999999-x.tmp",
                                  ".checkpoint-4194305-x.tmp", ".checkpoint-abc-x.tmp"])
def test_a_stray_temp_file_with_an_impossible_pid_does_not_break_saving(tmp_path, model, name):
    """A temp-file name with a pid too large for os.kill (or none) is left alone; the save works."""
    params, vocab = model
    (tmp_path / name).write_bytes(b"junk")
    path = tmp_path / "m.safetensors"
    cio.save_checkpoint(path, params, vocab, iteration=1)
    assert cio.load_checkpoint(path)[2]["iteration"] == 1
    assert set(listing(tmp_path)) <= {name, "m.safetensors"} and "m.safetensors" in listing(tmp_path)


# ------------------------------------------------------------- hostile files, by hand

ST_DTYPE = {"f8": "F64", "f4": "F32", "f2": "F16", "u4": "U32", "i8": "I64", "i4": "I32"}


def safetensors_bytes(arrays, metadata, pad=True):
    """A safetensors file written by hand: 8-byte little-endian header length, a JSON header
    (__metadata__ first, tensors by itemsize then name, as the library orders them), the raw
    little-endian bytes. ``arrays`` values are arrays, or header entries (dicts) to write as is."""
    entries, blobs, offset = {}, [], 0
    if metadata is not None:
        entries["__metadata__"] = metadata
    arrays = dict(sorted(arrays.items(), key=lambda kv: (-getattr(kv[1], "itemsize", 0), kv[0])))
    for name, a in arrays.items():
        if isinstance(a, dict):
            entries[name] = a
            continue
        raw = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        entries[name] = {"dtype": ST_DTYPE[a.dtype.str[1:]], "shape": list(a.shape),
                         "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(entries, separators=(",", ":")).encode()
    if pad:
        head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


def good_parts(cell="rnn", meta=None):
    """The arrays (params + chars) and metadata of a good checkpoint of ``cell`` over "abcd"."""
    params = core.CELLS[cell].init_params(4, 3, np.random.default_rng(0), scale=0.1)
    arrays = {**params, "chars": np.array([ord(c) for c in "abcd"], dtype=np.uint32)}
    meta = {"cell": cell, "iteration": 3} if meta is None else meta
    return arrays, {"charrnn": json.dumps(meta, sort_keys=True)}


def good_file(cell="rnn"):
    return safetensors_bytes(*good_parts(cell))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_hand_written_good_file_is_byte_for_byte_what_save_checkpoint_writes(tmp_path, cell):
    """The hostile files' base loads, and equals save_checkpoint's bytes: each differs only by its defect."""
    arrays, _ = good_parts(cell)
    params = {k: v for k, v in arrays.items() if k != "chars"}
    cio.save_checkpoint(tmp_path / "lib.safetensors", params, core.Vocab("abcd"), iteration=3)
    assert (tmp_path / "lib.safetensors").read_bytes() == good_file(cell)
    (tmp_path / "hand.safetensors").write_bytes(good_file(cell))
    got, vocab, meta = cio.load_checkpoint(tmp_path / "hand.safetensors")
    assert vocab.chars == "abcd" and meta == {"cell": cell, "iteration": 3}
    assert all(np.array_equal(got[k], params[k]) for k in params)


def with_arrays(cell="rnn", meta=None, **change):
    """A good file with arrays replaced (None: removed) and meta replaced."""
    arrays, metadata = good_parts(cell, meta)
    for k, v in change.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    return safetensors_bytes(arrays, metadata)


def with_metadata(metadata):
    return safetensors_bytes(good_parts()[0], metadata)


def with_meta(meta):
    return with_arrays(meta=meta)


def with_header(transform):
    """A good file whose JSON header bytes are replaced by transform(header bytes)."""
    data = good_file()
    n = struct.unpack("<Q", data[:8])[0]
    head = transform(data[8:8 + n])
    return struct.pack("<Q", len(head)) + head + data[8 + n:]


def claim(entry_name, **entry):
    """A good file plus a header entry that claims more than the file holds."""
    arrays, metadata = good_parts()
    arrays[entry_name] = entry
    return safetensors_bytes(arrays, metadata)


def nested(depth):
    return "[" * depth + "]" * depth


SHAPE_CASES = [("Whh", (3, 4)), ("Wxh", (3, 4, 1)), ("Why", (4, 2)), ("bh", (3,)), ("bh", (4, 1)),
               ("by", (1, 4)), ("Whh", (0, 3))]

HOSTILE = {
    # the container
    "empty file": lambda: b"",
    "shorter than the length field": lambda: good_file()[:7],
    "truncated header": lambda: good_file()[:40],
    "truncated data": lambda: good_file()[:-5],
    "half the file": lambda: good_file()[:len(good_file()) // 2],
    "a text file": lambda: b"this is not a checkpoint\n" * 10,
    "an .npz file": lambda: b"PK\x03\x04" + bytes(200),
    "an .npy file": lambda: b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"
                            .ljust(128, b" ") + bytes(40),
    "header length larger than the file": lambda: struct.pack("<Q", len(good_file()) + 100) + good_file()[8:],
    "header length 2**64 - 1": lambda: b"\xff" * 8 + good_file()[8:],
    "invalid JSON header": lambda: with_header(lambda h: b"{not json" + b" " * (len(h) - 9)),
    "JSON header a list": lambda: with_header(lambda h: b"[1, 2]  "),
    "deeply nested JSON header": lambda: with_header(lambda h: nested(100_000).encode()),
    "header not UTF-8": lambda: with_header(lambda h: h[:-8] + b'"\xff\xfe" '.ljust(8)),
    "tensor of gigabytes claimed": lambda: claim("Whh", dtype="F64", shape=[2**16, 2**14],
                                                 data_offsets=[0, 2**33]),
    "shape product overflows": lambda: claim("Whh", dtype="F64", shape=[2**40, 2**40],
                                             data_offsets=[0, 72]),
    "offsets past the end": lambda: claim("Whh", dtype="F64", shape=[3, 3], data_offsets=[300, 372]),
    "offsets disagree with shape": lambda: claim("Whh", dtype="F64", shape=[3, 3], data_offsets=[0, 8]),
    "unknown dtype": lambda: claim("Whh", dtype="Q99", shape=[3, 3], data_offsets=[0, 72]),
    # the metadata
    "no metadata": lambda: with_metadata(None),
    "empty metadata": lambda: with_metadata({}),
    "metadata with an extra key": lambda: with_metadata({**good_parts()[1], "other": "x"}),
    "metadata under another key": lambda: with_metadata({"model": good_parts()[1]["charrnn"]}),
    "metadata value not a string": lambda: with_metadata({"charrnn": {"cell": "rnn"}}),
    "meta not JSON": lambda: with_metadata({"charrnn": "{cell: rnn"}),
    "meta a JSON list": lambda: with_metadata({"charrnn": "[1, 2]"}),
    "meta deeply nested JSON": lambda: with_metadata({"charrnn": nested(100_000)}),
    "meta value deeply nested": lambda: with_metadata({"charrnn": '{"iteration": ' + nested(100_000) + "}"}),
    "meta unknown key": lambda: with_meta({"cell": "rnn", "note": "hi"}),
    "meta str for an int": lambda: with_meta({"iteration": "12"}),
    "meta float for an int": lambda: with_meta({"iteration": 12.0}),
    "meta bool for an int": lambda: with_meta({"iteration": True}),
    "meta nested object": lambda: with_meta({"iteration": {"a": 1}}),
    "meta int past 64 bits": lambda: with_meta({"seed": 2**64}),
    "meta huge int for a float": lambda: with_meta({"smooth_loss": 10**400}),
    "meta null": lambda: with_meta({"data": None}),
    "meta NaN": lambda: with_metadata({"charrnn": '{"smooth_loss": NaN}'}),
    "meta unknown cell": lambda: with_meta({"cell": "gru"}),
    "meta lone surrogate": lambda: with_metadata({"charrnn": '{"data": "\\ud800"}'}),
    # the tensors
    "a parameter missing": lambda: with_arrays(bh=None),
    "chars missing": lambda: with_arrays(chars=None),
    "an extra tensor": lambda: with_arrays(junk=np.zeros(3)),
    "lstm tensors, rnn meta": lambda: safetensors_bytes(good_parts("lstm")[0], good_parts("rnn")[1]),
    "rnn tensors, lstm meta": lambda: safetensors_bytes(good_parts("rnn")[0], good_parts("lstm")[1]),
    "rnn plus an lstm tensor": lambda: with_arrays(Wx=np.zeros((12, 4))),
    "no cell in meta, lstm tensors": lambda: with_arrays("lstm", meta={"iteration": 3}),
    "lstm Wh of a wrong shape": lambda: with_arrays("lstm", Wh=np.zeros((12, 2))),
    "chars int64": lambda: with_arrays(chars=np.array([97, 98, 99, 100], dtype=np.int64)),
    "chars float32": lambda: with_arrays(chars=np.array([97, 98, 99, 100], dtype=np.float32)),
    "chars 2-d": lambda: with_arrays(chars=np.array([[97, 98], [99, 100]], dtype=np.uint32)),
    "chars hold a surrogate": lambda: with_arrays(chars=np.array([97, 98, 0xD800, 100], dtype=np.uint32)),
    "chars beyond U+10FFFF": lambda: with_arrays(chars=np.array([97, 98, 99, 0x110000], dtype=np.uint32)),
    "chars repeated": lambda: with_arrays(chars=np.array([97, 98, 98, 100], dtype=np.uint32)),
    "chars one too many": lambda: with_arrays(chars=np.array([97, 98, 99, 100, 101], dtype=np.uint32)),
    "float16 params": lambda: with_arrays(**{k: v.astype(np.float16) for k, v in good_parts()[0].items()
                                            if k != "chars"}),
    "int params": lambda: with_arrays(Whh=np.zeros((3, 3), dtype=np.int64)),
    "NaN in params": lambda: with_arrays(Why=np.full((4, 3), np.nan)),
    "inf in params": lambda: with_arrays(by=np.array([[0.0], [np.inf], [0.0], [0.0]])),
    **{f"{name} of shape {shape}": (lambda name=name, shape=shape: with_arrays(**{name: np.zeros(shape)}))
       for name, shape in SHAPE_CASES},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_checkpoint_is_one_value_error_naming_the_path(tmp_path, case):
    """Each defect alone (container, metadata, meta, tensors): exactly one ValueError naming the path."""
    path = tmp_path / "bad.safetensors"
    path.write_bytes(HOSTILE[case]())
    refused(path)


@pytest.mark.parametrize("case, words", [
    ("a parameter missing", r"holds arrays .*expected .*'bh'"),
    ("rnn plus an lstm tensor", r"'Wx'.*cell 'rnn'"),
    ("lstm tensors, rnn meta", r"cell 'rnn'"),
    ("meta unknown key", r"meta 'note' is not something a checkpoint records"),
    ("meta str for an int", r"meta 'iteration' must be an int"),
    ("chars hold a surrogate", r"chars holds 0xd800, which is not a character"),
    ("chars one too many", r"vocabulary has 5 characters but the params are for V=4"),
    ("NaN in params", r"NaN.*'Why'"),
    ("Whh of shape (3, 4)", r"not valid.*'Whh'"),
    ("float16 params", r"float32 or float64"),
])
def test_a_hostile_checkpoint_says_what_is_wrong(tmp_path, case, words):
    """The one line names the defect: the array, the meta key, the vocabulary size."""
    path = tmp_path / "bad.safetensors"
    path.write_bytes(HOSTILE[case]())
    refused(path, words)


def test_missing_file_and_folder_are_one_value_error_naming_the_path(tmp_path):
    """A path that does not exist or is a folder: one ValueError naming it."""
    refused(tmp_path / "nothing.safetensors", "No such file")
    refused(tmp_path, "not a regular file|Is a directory")


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """Over MAX_CHECKPOINT_BYTES (here lowered to 500): refused, naming the limit."""
    path = tmp_path / "big.safetensors"
    path.write_bytes(good_file())
    assert len(good_file()) > 500
    monkeypatch.setattr(cio, "MAX_CHECKPOINT_BYTES", 500)
    refused(path, "larger than the limit of 500 bytes")
    monkeypatch.setattr(cio, "MAX_CHECKPOINT_BYTES", len(good_file()))
    assert cio.load_checkpoint(path)[1].chars == "abcd"


def test_a_claimed_tensor_of_gigabytes_is_refused_without_allocating_it(tmp_path):
    """A few-KB file whose header claims 8 GiB: refused, and NumPy allocated under 10 MB meanwhile."""
    path = tmp_path / "bomb.safetensors"
    path.write_bytes(HOSTILE["tensor of gigabytes claimed"]())
    assert path.stat().st_size < 5000
    tracemalloc.start()
    try:
        refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, peak


ADDRESS_SPACE_LIMITED = """
import resource, sys, numpy as np, charrnn_io as cio
size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (size + 2**28, resource.RLIM_INFINITY))  # 256 MiB more
for path in sys.argv[1:]:
    try:
        cio.load_checkpoint(path)
        print("loaded")
    except Exception as e:
        print(type(e).__name__)
try:
    np.ones(2**30)  # the control: 8 GiB must not fit under this limit
    print("limit-ineffective")
except MemoryError:
    print("limit-works")
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_claimed_tensor_of_gigabytes_is_refused_under_a_small_address_space_limit(tmp_path):
    """With the address space capped 256 MiB above the child's size: a good file loads, the 8 GiB claim is a ValueError."""
    (tmp_path / "good.safetensors").write_bytes(good_file())
    path = tmp_path / "bomb.safetensors"
    path.write_bytes(HOSTILE["tensor of gigabytes claimed"]())
    p = subprocess.run([sys.executable, "-c", ADDRESS_SPACE_LIMITED, str(tmp_path / "good.safetensors"),
                        str(path)], env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert p.stdout.split() == ["loaded", "ValueError", "limit-works"], (p.stdout, p.stderr)


def test_a_checkpoint_without_a_cell_in_its_meta_loads_as_an_rnn(tmp_path):
    """meta without "cell" means the RNN (checkpoints written before the LSTM)."""
    path = tmp_path / "old.safetensors"
    path.write_bytes(with_meta({"iteration": 3}))
    params, _, meta = cio.load_checkpoint(path)
    assert meta == {"iteration": 3} and core.cell_of(params) == "rnn"
