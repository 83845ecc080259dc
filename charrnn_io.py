"""What a learner need not read: text files, checkpoints and the command line.

This module exists to keep plumbing out of ``charrnn_core``, the file the notebooks
send you to (nanoGPT's ``configurator.py`` does the same for its configuration). Here
are the promises the README's "Robustness" section makes, and what keeps them:

- checkpoints are safetensors files (https://huggingface.co/docs/safetensors): a
  bounded JSON header and raw little-endian arrays, no pickles, no compression, offsets
  checked against the file. Parameters are float32/float64 tensors, the vocabulary a
  uint32 tensor of code points, everything else string metadata typed by ``META``;
- a checkpoint is written to a temporary file, synced and renamed over the old one;
- the command line turns every failure into one line on stderr.

    python -m charrnn_core train --data data/shakespeare.txt --out model.safetensors
    python -m charrnn_core sample --checkpoint model.safetensors --length 500
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import time

import numpy as np
import safetensors
import safetensors.numpy

import charrnn_core as core

MAX_TEXT_BYTES = 2**28        # 256 MiB: 50 times the Shakespeare corpus, 2.5 times enwik8
MAX_CHECKPOINT_BYTES = 2**30  # 1 GiB: H = 100 takes 210 KB, H = 5,000 about 400 MB in float64


# ------------------------------------------------------------------------ files


def _open_regular(path, what: str):
    """A file object for reading ``path``, which must be a regular file (not a FIFO, a
    device or a folder: opening those can block or never end). Raises ValueError naming it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, TypeError, ValueError) as e:
        raise ValueError(f"cannot read {what} {str(path)!r}: {getattr(e, 'strerror', None) or e}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{what} {str(path)!r} is not a regular file")
    return os.fdopen(fd, "rb")


def _read_bounded(path, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, or ValueError if it holds more than max_bytes."""
    try:
        with _open_regular(path, what) as f:
            size = os.fstat(f.fileno()).st_size  # checked before reading: no buffer of max_bytes
            raw = b"" if size > max_bytes else f.read(size + 1)
            if len(raw) > size:  # it grew while being read
                raw += f.read(max_bytes + 1 - len(raw))
    except OSError as e:
        raise ValueError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None
    if size > max_bytes or len(raw) > max_bytes:
        raise ValueError(f"{what} {str(path)!r} is larger than the limit of {max_bytes:,} bytes")
    return raw


def load_text(path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text file to train on.

    Raises ValueError naming ``path`` if the file is missing, not a regular file, empty,
    not UTF-8, has fewer than 2 distinct characters (nothing to predict), or holds more
    than ``max_bytes`` bytes (only that much is read, so ``/dev/zero`` cannot fill memory).
    """
    max_bytes = core._check_int("max_bytes", max_bytes)
    raw = _read_bounded(path, "text file", max_bytes)
    if not raw:
        raise ValueError(f"text file {str(path)!r} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"text file {str(path)!r} is not UTF-8 (bad byte at offset {e.start})") from None
    if len(set(text)) < 2:
        raise ValueError(f"text file {str(path)!r} has {len(set(text))} distinct character(s); need at least 2")
    return text


# ------------------------------------------------------------------- checkpoints

# Everything a checkpoint records besides its arrays, and the type each value has. It is
# stored as one JSON object (sorted keys) under the metadata key "charrnn": one key,
# because safetensors writes several keys in an order that changes from run to run.
META = {
    "cell": str, "iteration": int, "smooth_loss": float, "seed": int,
    "hidden_size": int, "seq_length": int, "batch_size": int, "learning_rate": float,
    "clip": float, "clip_mode": str, "optimizer": str, "dtype": str,
    "data": str, "train_fraction": float, "train_chars": int,
}


def _meta_value(key, value):
    """``value`` as the Python type META gives ``key``, or ValueError naming the key."""
    kind, name = META.get(key) if isinstance(key, str) else None, f"meta {key!r}"
    if kind is None:
        raise ValueError(f"{name} is not something a checkpoint records; expected one of {list(META)}")
    if kind is int:
        return core._check_int(name, value, -2**63, 2**63 - 1)
    if kind is float:
        return core._check_number(name, value, -math.inf, math.inf, low_open=False)
    value = core._check_text(name, value)
    if key == "cell":
        core._check_choice(name, value, tuple(core.CELLS))
    return value


def check_meta(meta) -> dict:
    """meta with every value of its META type; ValueError naming the first key that is wrong."""
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    return {k: _meta_value(k, v) for k, v in meta.items()}


def check_checkpoint(params, vocab: core.Vocab, meta: dict) -> dict:
    """Raise ValueError unless (params, vocab, meta) is something a checkpoint may hold;
    return meta with every value of its META type.

    ``save_checkpoint`` runs it before writing and ``load_checkpoint`` after reading,
    so nothing is saved that loading would refuse: params of the cell that meta names
    (float32 or float64, finite, shapes that fit), fitting the vocabulary (V = vocab.size).
    """
    meta = check_meta(meta)
    cell, V, _ = core._check_model(params)
    if meta.get("cell", "rnn") != cell.name:
        raise ValueError(f"meta cell={meta.get('cell', 'rnn')!r} but params are for cell {cell.name!r}")
    core._check_vocab(vocab, V)
    for name in cell.param_names:
        if params[name].dtype not in (np.float32, np.float64):
            raise ValueError(f"params[{name!r}] must be float32 or float64, got {params[name].dtype}")
        if not np.all(np.isfinite(params[name])):
            raise ValueError(f"parameters hold NaN or infinity (params[{name!r}])")
    return meta


def save_checkpoint(path, params, vocab: core.Vocab, **meta) -> None:
    """Write params, vocabulary and meta (the keys of ``META``) to a .safetensors file.

    Works for RNN and LSTM params; the cell is recorded as meta ``cell``. Refuses
    (ValueError) anything ``load_checkpoint`` would refuse (``check_checkpoint``), a
    ``path`` that is a folder or not a regular file, and reports a failed write (disk
    full, read-only folder) as ValueError naming the path. A symlink is written through
    to its target. The file is written to a temporary file beside it, synced and renamed
    over it, so a crash leaves the old checkpoint or the new one, never half a file;
    temp files of killed processes are removed. The same arguments give the same bytes.
    """
    meta = check_checkpoint(params, vocab, {"cell": core.cell_of(params), **meta})
    tensors = {k: np.ascontiguousarray(v) for k, v in params.items()}
    tensors["chars"] = np.array([ord(c) for c in vocab.chars], dtype=np.uint32)
    data = safetensors.numpy.save(tensors, metadata={"charrnn": json.dumps(meta, sort_keys=True)})
    _write_atomically(path, data, "checkpoint")


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``: returns (params, vocab, meta).

    The file must be a regular file of at most MAX_CHECKPOINT_BYTES (checked before it is
    read). A missing, truncated, corrupted or foreign file, or arrays that do not fit
    together (``check_checkpoint``), raise one ValueError naming the path and the problem.
    """
    try:
        data = _read_bounded(path, "checkpoint", MAX_CHECKPOINT_BYTES)
        tensors = safetensors.numpy.load(data)
        size = int.from_bytes(data[:8], "little")  # load() has checked the header
        header = json.loads(data[8:8 + size]).get("__metadata__") or {}
        if set(header) != {"charrnn"}:
            raise ValueError(f"its metadata has keys {sorted(header)}, expected ['charrnn']")
        meta = json.loads(header["charrnn"])
        if not isinstance(meta, dict):
            raise ValueError(f"its metadata is a JSON {type(meta).__name__}, expected an object")
    except (safetensors.SafetensorError, ValueError, TypeError, RecursionError) as e:
        if str(e).startswith(("cannot read checkpoint", "checkpoint")):  # names the path already
            raise ValueError(str(e)) from None
        raise ValueError(f"cannot read checkpoint {str(path)!r}: not a safetensors checkpoint ({e})") from None
    try:
        meta = check_meta(meta)
        cell = core.CELLS[meta.get("cell", "rnn")]
        expected = {*cell.param_names, "chars"}
        if set(tensors) != expected:
            raise ValueError(f"holds arrays {sorted(tensors)}, expected {sorted(expected)} (cell {cell.name!r})")
        codes = tensors["chars"]
        if codes.dtype != np.uint32 or codes.ndim != 1:
            raise ValueError(f"chars must be a 1-d uint32 array of code points, got {codes.dtype} {codes.shape}")
        bad = codes[(codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))]
        if bad.size:
            raise ValueError(f"chars holds {int(bad[0]):#x}, which is not a character (a surrogate, "
                             "or above U+10FFFF)")
        vocab = core.Vocab("".join(map(chr, codes.tolist())))
        params = {k: tensors[k] for k in cell.param_names}
        meta = check_checkpoint(params, vocab, meta)
    except (ValueError, TypeError) as e:
        raise ValueError(f"checkpoint {str(path)!r} is not valid: {e}") from None
    return params, vocab, meta


def _target(path, what="checkpoint") -> str:
    """The file written for ``path``: a symlink's target. Raises ValueError if it names a
    folder or something else that is not a regular file."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(f"{what} path must be a str or os.PathLike, got {type(path).__name__}") from None
    if not name or name.endswith(os.sep) or os.path.isdir(name):
        raise ValueError(f"{what} path {name!r} names a folder, expected a file name")
    target = os.path.realpath(name)
    if os.path.exists(target) and not os.path.isfile(target):
        raise ValueError(f"{what} path {name!r} is not a regular file; refusing to replace it")
    return target


_TEMP = re.compile(r"\.checkpoint-([0-9]{1,10})-\w+\.tmp")  # the names _temp_file makes


def _temp_file(folder) -> tuple[int, str]:
    """A new private temp file in ``folder`` named for this process: (fd, path)."""
    return tempfile.mkstemp(dir=folder, prefix=f".checkpoint-{os.getpid()}-", suffix=".tmp")


def _remove_stale_temp_files(folder) -> None:
    """Delete temp files that killed processes of this machine left in ``folder``."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.fullmatch(entry.name)
            if not m or int(m.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:  # no such process: nobody is writing this file
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            except (OSError, OverflowError):  # exists (another user's process), or no pid at all
                pass


def _write_atomically(path, data: bytes, what: str) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, and rename it over ``path``."""
    target = _target(path, what)
    folder = os.path.dirname(target)
    _remove_stale_temp_files(folder)
    try:
        fd, tmp = _temp_file(folder)
    except OSError as e:
        raise ValueError(f"cannot write {what} {str(path)!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; give it normal file permissions
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):  # already renamed if Ctrl-C came just after
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ValueError(f"cannot write {what} {str(path)!r}: {e.strerror or e}") from None
        raise


# ------------------------------------------------------------------ command line


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (exit status 2)."""

    def error(self, message):  # one line, exit status 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _arg(convert, check, what: str):
    """An argparse type: the text converted (int or float), then checked by the core's helper."""
    def parse(text):
        try:
            return check(convert(text))
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    return parse


_POSITIVE_INT = _arg(int, lambda v: core._check_int("", v), "a positive int")
_COUNT = _arg(int, lambda v: core._check_int("", v, 0), "a non-negative int")
_POSITIVE_FLOAT = _arg(float, lambda v: core._check_number("", v), "a positive float")
_SEED = _arg(int, lambda v: core._check_int("", v, 0, 2**63 - 1), "an integer in [0, 2**63)")  # meta: int64
_FRACTION = _arg(float, lambda v: core._check_number("", v, 0, 1), "a number in (0, 1]")


_SHOWN_AS_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str) -> str:
    """Text with control characters (except newline and tab) written as escapes like
    ``\\x1b``, so a checkpoint's vocabulary cannot send escape sequences to a terminal."""
    return _SHOWN_AS_ESCAPES.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _Stdout:
    """Printing that never ends a run: characters stdout cannot encode are written as
    escapes, and once stdout is closed, full or missing, later output is dropped (``error``)."""

    def __init__(self):
        self.error = None

    def __call__(self, text: str) -> None:
        if self.error is not None:
            return
        out = sys.stdout
        try:
            if out is None:
                raise ValueError("there is no stdout")
            try:
                out.write(text + "\n")
            except UnicodeEncodeError:
                enc = out.encoding or "ascii"
                out.write((text + "\n").encode(enc, "backslashreplace").decode(enc))
            out.flush()
        except (OSError, ValueError, AttributeError) as e:  # broken pipe, disk full, closed file
            self.error = e
            with contextlib.suppress(OSError, ValueError, AttributeError):
                devnull = os.open(os.devnull, os.O_WRONLY)  # so exit's flush fails no more
                os.dup2(devnull, out.fileno())
                os.close(devnull)


def _complain(line: str) -> None:
    """One line on stderr, if there is a stderr to write to."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(line, file=sys.stderr, flush=True)


def _check_out(out: str, data: str) -> None:
    """Before training: ``--out`` names a file that can be written and is not the corpus."""
    try:
        target = _target(out)
    except ValueError as e:
        raise ValueError(f"--out: {e}") from None
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ValueError(f"--out: folder of {out!r} does not exist")
    with contextlib.suppress(OSError):
        if os.path.samefile(target, data):
            raise ValueError(f"--out {out!r} is the training text --data; choose another name")
    try:
        if os.path.exists(target):  # it will be replaced: the folder must take a new file
            fd, tmp = _temp_file(folder)
        else:  # try the very name (too long? read-only folder?), then remove it again
            fd, tmp = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), target
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise ValueError(f"--out: cannot write {out!r}: {e.strerror}") from None


_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")  # v2, v1


def _memory_limit() -> float:
    """Bytes this process may use: physical memory, or a smaller cgroup limit (Binder, Docker)."""
    limits = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for name in _CGROUP_LIMITS:  # "max" (no limit) is not a number and is skipped
        with contextlib.suppress(OSError, ValueError):
            with open(name) as f:
                limits.append(int(f.read().strip()))
    return min(limits, default=math.inf)


def _check_memory(nbytes: float, what: str) -> None:
    """Raise ValueError if ``what`` needs more bytes than this process may use."""
    limit = _memory_limit()
    if nbytes > limit:
        raise ValueError(f"{what} would need about {nbytes / 2**30:,.1f} GiB of memory; "
                         f"this machine allows {limit / 2**30:,.1f} GiB")


def _training_bytes(cell: str, V: int, H: int, T: int, B: int, iters: int, chars: int, itemsize: int) -> float:
    """About how many bytes ``train`` needs: parameters with their gradients, Adagrad memory
    and clipped copies (6 sets), the activations of one window (with the backward pass's
    temporaries, twice what the forward pass keeps), the loss history and the text."""
    n_params = sum(math.prod(s) for s in core.CELLS[cell].param_shapes(V, H).values())
    per_column = (4 * H if cell == "rnn" else 12 * H) + 3 * V  # per step and sequence
    return (6 * n_params + 2 * per_column * T * B) * itemsize + 16 * iters + 16 * chars


class _Stopped(Exception):
    """Raised from the training callback after a stop signal; holds the last finished step."""

    def __init__(self, step, signum):
        super().__init__("stopped")
        self.step, self.signum = step, signum


_STOP_SIGNALS = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s))


@contextlib.contextmanager
def _deferred_stop_signals(flag: list):
    """Within the block, Ctrl-C, SIGTERM and SIGHUP only append their number to ``flag``.

    Only the main thread may set handlers (elsewhere Ctrl-C stays a KeyboardInterrupt),
    and a signal the process was started to ignore (``nohup``, ``... &``) stays ignored."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for s in _STOP_SIGNALS:
            if signal.getsignal(s) is not signal.SIG_IGN:
                previous[s] = signal.signal(s, lambda signum, frame: flag.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _cmd_train(args, say) -> int:
    """``train``: load the text, train with progress lines and samples, save checkpoints.

    From the first line on, a stop signal (Ctrl-C, SIGTERM, SIGHUP) only raises a flag:
    before training starts it ends the command with nothing to save; during training the
    callback stops after the update under way, and the last save runs with it deferred."""
    stop = []
    with _deferred_stop_signals(stop):
        status, params, vocab, held_out = _train_and_save(args, say, stop)
    if status or not held_out[1:]:
        return status
    with np.errstate(all="ignore"):
        loss = core.evaluate(params, vocab.encode(held_out))
    perplexity = math.exp(loss) if loss < 700 else math.inf
    say(f"held-out loss {loss:.3f} nats/char (perplexity {perplexity:.2f}) on the last "
        f"{len(held_out):,} characters, which training never read")
    return 0


def _train_and_save(args, say, stop):
    """The body of ``train`` under deferred signals: (exit status, params, vocab, held-out text)."""
    _check_out(args.out, args.data)
    full_text = load_text(args.data)
    text, held_out = core.split_text(full_text, args.train_fraction)
    vocab = core.Vocab.from_text(full_text)  # the held-out part may hold characters training lacks
    V, H, T, B = vocab.size, args.hidden_size, args.seq_length, args.batch_size
    _check_memory(_training_bytes(args.cell, V, H, T, B, args.iters, len(text), 4 if args.float32 else 8),
                  f"--cell {args.cell} --hidden-size {H} --seq-length {T} --batch-size {B} --iters {args.iters}")
    settings = dict(cell=args.cell, seed=args.seed, hidden_size=H, seq_length=T, batch_size=B,
                    learning_rate=args.learning_rate, clip=args.clip, clip_mode="elementwise",
                    optimizer="adagrad", dtype="float32" if args.float32 else "float64",
                    data=os.path.basename(args.data), train_fraction=args.train_fraction,
                    train_chars=len(text))
    if stop:
        _complain(f"stopped by {signal.Signals(stop[0]).name} before training started; nothing saved")
        return 128 + stop[0], None, vocab, held_out
    start, last = time.perf_counter(), [time.perf_counter(), 0]

    def report(step):
        if stop:
            raise _Stopped(step, stop[0])
        done, smooth, params = step.iteration + 1, step.smooth_loss, step.params
        if done % args.print_every == 0 or done == args.iters:
            now = time.perf_counter()
            speed = (done - last[1]) * T * B / max(now - last[0], 1e-9)
            last[:] = [now, done]
            say(f"iter {done:>7}  smooth loss {smooth:8.3f}  {speed:10,.0f} chars/s")
        if args.sample_every and done % args.sample_every == 0:
            txt = core.generate(params, vocab, text[0], 200, np.random.default_rng(done), 0.8)
            say("----\n" + _printable(txt) + "\n----")
        if args.checkpoint_every and done % args.checkpoint_every == 0:
            save_checkpoint(args.out, params, vocab, iteration=done, smooth_loss=smooth, **settings)

    try:
        result = core.train(text, hidden_size=H, seq_length=T, learning_rate=args.learning_rate,
                            num_iters=args.iters, seed=args.seed, batch_size=B, clip=args.clip,
                            vocab=vocab, dtype=np.float32 if args.float32 else np.float64,
                            callback=report, cell=args.cell)
        stopped, done, params, smooth = None, args.iters, result.params, float(result.smooth_losses[-1])
    except _Stopped as s:
        stopped, done, params, smooth = s, s.step.iteration + 1, s.step.params, s.step.smooth_loss
    save_checkpoint(args.out, params, vocab, iteration=done, smooth_loss=smooth, **settings)
    if stopped:
        _complain(f"stopped by {signal.Signals(stopped.signum).name}: saved {args.out} after "
                  f"{done} of {args.iters} iterations")
        return 128 + stopped.signum, params, vocab, held_out
    say(f"saved {args.out} after {args.iters} iterations in "
        f"{time.perf_counter() - start:.1f} s (smooth loss {smooth:.3f})")
    return 0, params, vocab, held_out


def _cmd_sample(args, say) -> int:
    """``sample``: load a checkpoint and print prime + length sampled characters."""
    _check_memory(64 * args.length, f"--length {args.length}")
    params, vocab, _ = load_checkpoint(args.checkpoint)
    say(_printable(core.generate(params, vocab, args.prime or vocab.chars[0], args.length,
                                 np.random.default_rng(args.seed), args.temperature)))
    return 0


def main(argv=None) -> int:
    """``python -m charrnn_core train ...`` / ``sample ...``. Returns the exit status.

    Every failure is one line on stderr: exit status 2 for bad arguments, files or
    sizes, 1 when stdout could not be written, 128 + the signal's number after Ctrl-C
    (130), SIGTERM (143) or SIGHUP (129).
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser is built (before a command takes over)
        _complain("python -m charrnn_core: interrupted")
        return 130


def _main(argv) -> int:
    """The body of ``main``: build the parser, run the command, turn failures into one line."""
    parser = _Parser(prog="python -m charrnn_core", description="Train and sample a character-level RNN.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    pos_int, pos_float, count = _POSITIVE_INT, _POSITIVE_FLOAT, _COUNT

    t = sub.add_parser("train", help="train a model on a text file and save a checkpoint")
    t.add_argument("--data", required=True, help="UTF-8 text file to learn from")
    t.add_argument("--out", default="model.safetensors", help="checkpoint to write (default model.safetensors)")
    t.add_argument("--cell", choices=tuple(core.CELLS), default="rnn",
                   help="rnn (the gist's vanilla RNN, default) or lstm")
    t.add_argument("--hidden-size", type=pos_int, default=100)
    t.add_argument("--seq-length", type=pos_int, default=25)
    t.add_argument("--learning-rate", type=pos_float, default=0.1)
    t.add_argument("--iters", type=pos_int, default=2000)
    t.add_argument("--batch-size", type=pos_int, default=1)
    t.add_argument("--clip", type=pos_float, default=5.0, help="elementwise clip limit")
    t.add_argument("--seed", type=_SEED, default=0)
    t.add_argument("--train-fraction", type=_FRACTION, default=1.0,
                   help="train on this leading share of the text, hold out the rest (default 1)")
    t.add_argument("--float32", action="store_true", help="train in float32 (faster)")
    t.add_argument("--print-every", type=pos_int, default=100)
    t.add_argument("--sample-every", type=count, default=1000, help="0 turns samples off")
    t.add_argument("--checkpoint-every", type=count, default=1000, help="0: only at the end")

    s = sub.add_parser("sample", help="generate text from a checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--length", type=count, default=500)
    s.add_argument("--temperature", type=pos_float, default=1.0)
    s.add_argument("--prime", default="", help="text to start from (default: first character)")
    s.add_argument("--seed", type=_SEED, default=0)

    say, args = _Stdout(), None
    try:
        args = parser.parse_args(argv)
        status = (_cmd_train if args.command == "train" else _cmd_sample)(args, say)
    except (ValueError, TypeError, core.TrainingDiverged) as e:
        _complain(f"{parser.prog} {args.command}: error: {e}")
        return 2
    except MemoryError:
        _complain(f"{parser.prog} {args.command}: error: out of memory; try a smaller "
                  "--hidden-size, --batch-size, --iters or --length")
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting up, or in `sample`
        _complain(f"{parser.prog}: interrupted")
        return 130
    if say.error is not None:
        _complain(f"{parser.prog} {args.command}: error: cannot write to stdout: "
                  f"{getattr(say.error, 'strerror', None) or say.error}")
        return 1 if status == 0 else status
    return status


if __name__ == "__main__":
    sys.exit(main())
