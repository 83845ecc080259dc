"""Speed figures for the README: one Markdown table, measured in one run.

    .venv/bin/python benchmarks/bench.py                 # everything (nbval takes a while)
    .venv/bin/python benchmarks/bench.py --skip-nbval    # leave out the notebook suite
    .venv/bin/python benchmarks/bench.py --plateau 50    # also: time to smoothed loss < 50

All training rows use the bundled corpus data/shakespeare.txt with H=100 and T=25
(hidden size and sequence length, as in the gist) and report characters per second:
T * B characters per update. Each row is warmed up, then timed in 3 windows of
budget/3 seconds each; the best window counts (the machine may be shared, and the
best window is the one least disturbed by other work). Every speed is given per
wall-clock second and per CPU second of this process: the second barely moves when
other programs compete for the cores, so ratios stay comparable on a busy machine.
If NumPy's OpenBLAS runs more than one thread, the batched rows are measured a
second time with it limited to one thread (for small matrices on a busy machine
the threads can cost far more than they bring).

Progress goes to stderr, the table to stdout, so ``bench.py > speed.md`` gives a
file ready to paste.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _blas_threads_from_argv(argv) -> str | None:
    """``--blas-threads N`` must act before NumPy loads its BLAS, so it is read here."""
    for i, arg in enumerate(argv):
        if arg == "--blas-threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--blas-threads="):
            return arg.split("=", 1)[1]
    return None


if _blas_threads_from_argv(sys.argv[1:]) is not None:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _blas_threads_from_argv(sys.argv[1:])

try:
    import resource  # Unix only: CPU time of the test-suite subprocesses
except ImportError:
    resource = None

import numpy as np  # noqa: E402  (after the thread setting above)

import charrnn_core as core  # noqa: E402
import charrnn_io  # noqa: E402  (load_text)

ROOT = Path(core.__file__).resolve().parent
CORPUS = ROOT / "data" / "shakespeare.txt"
H, T = 100, 25          # hidden size, sequence length (the gist's values)
H_LSTM = 45             # the LSTM of notebook 10: about the RNN's parameter count at H = 100
LEARNING_RATE = 0.1     # the gist's
CLIP = 5.0              # the gist's elementwise clip limit
BATCH_SIZES = (16, 64, 128)

# Targets (the Result column)
TARGET_UNBATCHED = 1.0      # core unbatched >= 1.0 x baseline
TARGET_BATCHED = 20.0       # core batched, best B, >= 20 x baseline
TARGET_SAMPLING = 50_000    # chars/s
TARGET_NBVAL = 120.0        # seconds
TARGET_UNIT = 30.0          # seconds


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ timing helper


class _Stop(Exception):
    """Raised from inside a training loop (or a train() callback) when timing is done."""


class Meter:
    """Counts updates; after a warm-up, times ``windows`` windows of ``budget / windows`` s
    (and at least ``min_window_iters`` updates each).

    Call ``tick()`` once per update. It raises ``_Stop`` when all windows are done.
    ``rate`` is then the best window's characters per wall-clock second and
    ``cpu_rate`` the best window's characters per CPU second of this process
    (CPU time counts all its threads; it hardly changes when other programs
    share the machine, while wall-clock time does).
    """

    def __init__(self, chars_per_iter: int, budget: float, windows: int = 3,
                 warmup_iters: int = 3, warmup_seconds: float = 0.3,
                 min_window_iters: int = 5):
        self.chars_per_iter, self.window = chars_per_iter, budget / windows
        self.windows, self.warmup_iters, self.warmup_seconds = windows, warmup_iters, warmup_seconds
        self.min_window_iters = min_window_iters
        self.iters, self.start, self.rates, self.cpu_rates, self.shares = 0, None, [], [], []
        self.window_start = self.window_iter = self.window_cpu = None

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.iters += 1
        if self.start is None:
            self.start = now
        if self.window_start is None:  # still warming up
            if self.iters >= self.warmup_iters and now - self.start >= self.warmup_seconds:
                self.window_start, self.window_iter, self.window_cpu = now, self.iters, cpu
            return
        done = self.iters - self.window_iter
        if now - self.window_start >= self.window and done >= self.min_window_iters:
            chars = done * self.chars_per_iter
            self.rates.append(chars / (now - self.window_start))
            self.cpu_rates.append(chars / max(cpu - self.window_cpu, 1e-9))
            self.shares.append((cpu - self.window_cpu) / (now - self.window_start))
            self.window_start, self.window_iter, self.window_cpu = now, self.iters, cpu
            if len(self.rates) == self.windows:
                raise _Stop

    @property
    def rate(self) -> float:
        return max(self.rates)

    @property
    def cpu_rate(self) -> float:
        return max(self.cpu_rates)

    def notes(self) -> str:
        """ms per update, and the CPU share (CPU time / wall time) of the fastest window."""
        share = self.shares[self.rates.index(self.rate)]
        return f"{1000.0 * self.chars_per_iter / self.rate:.2f} ms/update, CPU share {share:.2f}"


def run_until_stopped(loop, meter: Meter) -> Meter:
    try:
        loop(meter)
    except _Stop:
        pass
    if len(meter.rates) < meter.windows:
        raise RuntimeError("a benchmark loop ended before its time budget was used up")
    return meter


# -------------------------------------------- (a) the gist's algorithm, written afresh


def gist_loss_fun(weights, inputs, targets, h_before, clip=CLIP):
    """The gist's loss function, rewritten from the math: forward over T steps,
    backpropagation through time, then elementwise clipping of the gradients.

    weights: [Wxh (H, V), Whh (H, H), Why (V, H), bh (H, 1), by (V, 1)];
    inputs, targets: lists of T ids; h_before: (H, 1).
    Returns (loss, [dWxh, dWhh, dWhy, dbh, dby], last hidden state (H, 1)).
    """
    Wxh, Whh, Why, bh, by = weights
    V = Wxh.shape[1]
    x, h, p = {}, {-1: np.copy(h_before)}, {}
    loss = 0.0
    for t, (ix, target) in enumerate(zip(inputs, targets)):
        x[t] = np.zeros((V, 1))                       # a fresh one-hot column per step
        x[t][ix] = 1
        h[t] = np.tanh(np.dot(Wxh, x[t]) + np.dot(Whh, h[t - 1]) + bh)
        logits = np.dot(Why, h[t]) + by
        p[t] = np.exp(logits) / np.sum(np.exp(logits))
        loss -= np.log(p[t][target, 0])
    gWxh, gWhh, gWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    gbh, gby = np.zeros_like(bh), np.zeros_like(by)
    dh_from_later = np.zeros_like(h[0])
    for t in reversed(range(len(inputs))):
        dlogits = np.copy(p[t])
        dlogits[targets[t]] -= 1                      # softmax + cross-entropy
        gWhy += np.dot(dlogits, h[t].T)
        gby += dlogits
        dh = np.dot(Why.T, dlogits) + dh_from_later
        dpre = (1 - h[t] * h[t]) * dh                 # back through tanh
        gbh += dpre
        gWxh += np.dot(dpre, x[t].T)
        gWhh += np.dot(dpre, h[t - 1].T)
        dh_from_later = np.dot(Whh.T, dpre)
    grads = [gWxh, gWhh, gWhy, gbh, gby]
    for g in grads:
        np.clip(g, -clip, clip, out=g)
    return loss, grads, h[len(inputs) - 1]


def gist_style_loop(text: str, meter: Meter) -> None:
    """(a) The gist's training loop around ``gist_loss_fun``, in Python 3.

    Deliberately the original algorithm, slow parts included: a fresh one-hot
    column x_t of shape (V, 1) per step and np.dot with it, dicts holding every
    step's x, h and p, the backward pass with np.dot(dhraw, x_t.T), elementwise
    clipping to [-5, 5] in place, Adagrad with one memory array per parameter,
    the hidden state carried between sequences, and the data pointer p that
    restarts (with a zero hidden state) at the end of the text. Only the gist's
    sampling and printing every 100 updates are left out.
    """
    chars = sorted(set(text))
    V = len(chars)
    id_of = {c: i for i, c in enumerate(chars)}
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((H, V)) * 0.01,    # Wxh
               rng.standard_normal((H, H)) * 0.01,    # Whh
               rng.standard_normal((V, H)) * 0.01,    # Why
               np.zeros((H, 1)), np.zeros((V, 1))]    # bh, by
    memory = [np.zeros_like(w) for w in weights]      # Adagrad: running sums of squared grads

    n, p = 0, 0
    smooth_loss = -np.log(1.0 / V) * T
    h_prev = np.zeros((H, 1))
    while True:
        if p + T + 1 >= len(text) or n == 0:
            h_prev, p = np.zeros((H, 1)), 0
        inputs = [id_of[c] for c in text[p:p + T]]
        targets = [id_of[c] for c in text[p + 1:p + T + 1]]
        loss, grads, h_prev = gist_loss_fun(weights, inputs, targets, h_prev)
        smooth_loss = smooth_loss * 0.999 + loss * 0.001
        for w, g, m in zip(weights, grads, memory):
            m += g * g
            w += -LEARNING_RATE * g / np.sqrt(m + 1e-8)
        p += T
        n += 1
        meter.tick()


# ------------------------------------------------------------------ the core's rows


def core_per_step_loop(text: str, meter: Meter) -> None:
    """(b') The gist's loop around the core's readable pieces:
    loss_and_grads (one sequence), clip_elementwise, Adagrad."""
    vocab = core.Vocab.from_text(text)
    data = vocab.encode(text)
    params = core.init_params(vocab.size, H, np.random.default_rng(0))
    opt = core.Adagrad(params, LEARNING_RATE)
    smooth = T * math.log(vocab.size)
    hprev, p = np.zeros((H, 1)), 0
    while True:
        if p + T + 1 > len(data):
            hprev, p = np.zeros((H, 1)), 0
        inputs, targets = data[p:p + T], data[p + 1:p + T + 1]
        loss, grads, hprev = core.loss_and_grads(params, inputs, targets, hprev)
        opt.step(core.clip_elementwise(grads, CLIP))
        smooth = 0.999 * smooth + 0.001 * loss
        p += T
        meter.tick()


def core_train_loop(text: str, batch_size: int, dtype=np.float64, cell: str = "rnn"):
    """A loop running ``core.train`` with the meter in its callback (the LSTM at H_LSTM)."""
    def loop(meter: Meter) -> None:
        core.train(text, hidden_size=H_LSTM if cell == "lstm" else H, seq_length=T,
                   learning_rate=LEARNING_RATE,
                   num_iters=max(10_000, 2_000_000 // batch_size), batch_size=batch_size,
                   dtype=dtype, callback=lambda step: meter.tick(), cell=cell)
    return loop


def torch_loop(text: str, batch_size: int):
    """Reference: torch.nn.RNN (tanh) + Linear on one-hot inputs, CPU, same streams,
    loss summed over time and averaged over the batch, elementwise clip, Adagrad."""
    import torch
    import torch.nn.functional as F

    def loop(meter: Meter) -> None:
        torch.manual_seed(0)
        vocab = core.Vocab.from_text(text)
        V = vocab.size
        streams = torch.from_numpy(  # (N // B, B): the same streams as core.train
            np.ascontiguousarray(core.batch_streams(vocab.encode(text), batch_size, T)))
        rnn = torch.nn.RNN(V, H, nonlinearity="tanh")      # input (T, B, V)
        head = torch.nn.Linear(H, V)
        weights = list(rnn.parameters()) + list(head.parameters())
        opt = torch.optim.Adagrad(weights, lr=LEARNING_RATE)
        h, p = torch.zeros(1, batch_size, H), 0
        while True:
            if p + T + 1 > len(streams):
                h, p = torch.zeros(1, batch_size, H), 0
            x = F.one_hot(streams[p:p + T], V).float()
            y = streams[p + 1:p + T + 1]
            out, h = rnn(x, h)
            loss = F.cross_entropy(head(out).reshape(-1, V), y.reshape(-1),
                                   reduction="sum") / batch_size
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(weights, CLIP)
            opt.step()
            h = h.detach()
            p += T
            meter.tick()
    return loop


def sampling_rates(text: str, n: int = 20_000, repeats: int = 3) -> tuple[float, float]:
    """Best of ``repeats`` runs of core.sample for n characters:
    (chars per wall-clock second, chars per CPU second)."""
    vocab = core.Vocab.from_text(text)
    rng = np.random.default_rng(0)
    params = core.init_params(vocab.size, H, rng)
    h = np.zeros((H, 1))
    core.sample(params, h, 0, 500, rng)  # warm-up
    wall = cpu = math.inf
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        core.sample(params, h, 0, n, rng)
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return n / wall, n / cpu


# ----------------------------------------------------------------- test suites


def _children_cpu() -> float:
    if resource is None:
        return math.nan
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(args: list) -> tuple[float, float, int, str]:
    """Run a command in the repo folder.
    Returns (wall seconds, CPU seconds of it and its children, exit status, last output line)."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    lines = [ln.strip() for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    return seconds, cpu, done.returncode, (lines[-1] if lines else "")


def suite_row(label: str, args: list, limit: float):
    log(f"running {label} ...")
    seconds, cpu, status, last = time_command(args)
    summary = last.strip("= ").replace("|", "/") + f"; CPU {cpu:.1f} s"
    if status == 5:  # pytest: no tests collected
        return (label, "nothing collected", "", "", "", f"< {limit:.0f} s", "n/a", summary)
    ok = status == 0 and seconds < limit
    verdict = "PASS" if ok else ("MISS" if status == 0 else f"MISS (exit {status})")
    return (label, f"{seconds:.1f} s", "", "", "", f"< {limit:.0f} s", verdict, summary)


# ------------------------------------------------------------------- plateau


class _PlateauReached(Exception):
    pass


def time_to_plateau(text: str, target: float, batch_size: int, learning_rate: float,
                    dtype, max_iters: int):
    """Train once (one ``train`` call, so Adagrad memory and the smoothed loss carry on)
    until the smoothed loss per sequence drops below ``target``.
    Returns (seconds, iterations, last smoothed loss, reached?)."""
    state = {"it": 0, "smooth": math.nan, "logged": time.perf_counter()}

    def callback(step):
        it, smooth = step.iteration, step.smooth_loss
        state["it"], state["smooth"] = it + 1, smooth
        now = time.perf_counter()
        if now - state["logged"] > 10:  # a progress line every 10 s
            state["logged"] = now
            log(f"  plateau run: update {it + 1}, smoothed loss {smooth:.3f}, {now - start:.0f} s")
        if smooth < target:
            raise _PlateauReached

    start = time.perf_counter()
    reached = False
    try:
        core.train(text, hidden_size=H, seq_length=T, learning_rate=learning_rate,
                   num_iters=max_iters, batch_size=batch_size, dtype=dtype, callback=callback)
    except _PlateauReached:
        reached = True
    return time.perf_counter() - start, state["it"], state["smooth"], reached


# ------------------------------------------------------- BLAS threads, machine info


class OpenBLASThreads:
    """Read and set the thread count of the OpenBLAS that NumPy loaded, via ctypes.

    NumPy has no API for this (threadpoolctl does, but it is not a dependency).
    ``available`` is False when the library or its functions cannot be found
    (another BLAS, or not Linux); then nothing is changed.
    """

    _NAMES = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
              "openblas_{}_num_threads64_", "openblas_{}_num_threads")

    def __init__(self):
        self._get = self._set = None
        try:
            import ctypes
            maps = Path("/proc/self/maps").read_text().splitlines()
            paths = sorted({ln.split()[-1] for ln in maps
                            if "openblas" in ln.lower() and ln.split()[-1].startswith("/")})
            for path in paths:
                lib = ctypes.CDLL(path)
                for name in self._NAMES:
                    if hasattr(lib, name.format("get")) and hasattr(lib, name.format("set")):
                        self._get = getattr(lib, name.format("get"))
                        self._set = getattr(lib, name.format("set"))
                        self._set.argtypes = [ctypes.c_int]
                        return
        except (OSError, AttributeError, IndexError):
            pass

    @property
    def available(self) -> bool:
        return self._get is not None

    def get(self):
        return int(self._get()) if self.available else None

    def set(self, n: int) -> None:
        if self.available:
            self._set(n)


BLAS = OpenBLASThreads()


def machine_lines() -> list:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy: no mode="dicts"
        blas = "unknown"
    try:
        import threadpoolctl
        pools = threadpoolctl.threadpool_info()
        blas += " (" + ", ".join(f"{p['internal_api']} {p['num_threads']} threads"
                                 for p in pools) + ")"
    except ImportError:
        pass
    if BLAS.available:
        blas += f", {BLAS.get()} thread(s)"
    env = [f"{k}={os.environ[k]}" for k in
           ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
           if k in os.environ]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"**Machine:** {cpu}, {os.cpu_count()} cores ({usable} usable), "
        f"load average {load} (1/5/15 min) at start  ",
        f"**Software:** Python {platform.python_version()}, NumPy {np.__version__}, BLAS {blas}"
        + (f", {' '.join(env)}" if env else "") + "  ",
        f"**Date:** {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
        f"corpus {CORPUS.name}, H={H}, T={T}",
    ]


# ---------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=2.0,
                    help="timed seconds per training row, after warm-up (default 2)")
    ap.add_argument("--blas-threads", type=int, default=None, metavar="N",
                    help="set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS to N "
                         "(default: leave the environment alone)")
    ap.add_argument("--skip-nbval", action="store_true", help="do not time the notebook suite")
    ap.add_argument("--nbval-dir", default="notebooks",
                    help="folder (or one notebook) for the nbval timing (default notebooks)")
    ap.add_argument("--skip-unit", action="store_true", help="do not time the unit tests")
    ap.add_argument("--plateau", type=float, metavar="LOSS", default=None,
                    help="also time training until the smoothed loss per sequence < LOSS")
    ap.add_argument("--plateau-batch", type=int, default=None,
                    help="batch size for --plateau (default: the fastest B measured)")
    ap.add_argument("--plateau-lr", type=float, default=LEARNING_RATE,
                    help=f"learning rate for --plateau (default {LEARNING_RATE})")
    ap.add_argument("--plateau-float32", action="store_true",
                    help="train the plateau run in float32")
    ap.add_argument("--plateau-max-iters", type=int, default=200_000,
                    help="give up the plateau run after this many updates (default 200000)")
    args = ap.parse_args(argv)

    text = charrnn_io.load_text(CORPUS)
    header = machine_lines()
    # (measurement, wall speed, x baseline, CPU speed, x baseline CPU, target, result, notes)
    rows = []

    def train_row(label, loop, chars_per_iter, blas_threads=None):
        log(f"measuring {label} ...")
        before = BLAS.get()
        if blas_threads is not None:
            BLAS.set(blas_threads)
        try:
            return run_until_stopped(loop, Meter(chars_per_iter, args.budget))
        finally:
            if blas_threads is not None:
                BLAS.set(before)

    def verdict(ok_wall: bool, ok_cpu: bool) -> str:
        if ok_wall == ok_cpu:
            return "PASS" if ok_wall else "MISS"
        return ("PASS" if ok_wall else "MISS") + (" (CPU: PASS)" if ok_cpu else " (CPU: MISS)")

    base = train_row("baseline", lambda m: gist_style_loop(text, m), T)

    def ratio_row(label, meter, target=None, note=""):
        ratio, cpu_ratio = meter.rate / base.rate, meter.cpu_rate / base.cpu_rate
        rows.append((label, f"{meter.rate:,.0f} chars/s", f"{ratio:.1f}×",
                     f"{meter.cpu_rate:,.0f}", f"{cpu_ratio:.1f}×",
                     "" if target is None else f"≥ {target:g}×",
                     "" if target is None else verdict(ratio >= target, cpu_ratio >= target),
                     meter.notes() + (f"; {note}" if note else "")))

    ratio_row("(a) baseline: the gist's algorithm (one-hot `np.dot`, dicts), B=1", base)
    m = train_row("core train B=1", core_train_loop(text, 1), T)
    ratio_row("(b) core `train(batch_size=1)`", m, TARGET_UNBATCHED)
    m = train_row("core per-step", lambda mt: core_per_step_loop(text, mt), T)
    ratio_row("(b′) core `loss_and_grads` + `clip_elementwise` + `Adagrad` "
              "in a gist-style loop", m)

    # (label, meter, B, BLAS threads or None): float64 batched rows; the target is for the fastest
    batched = [(f"(c) core `train(batch_size={B})`", train_row(f"core train B={B}",
                core_train_loop(text, B), T * B), B, None) for B in BATCH_SIZES]
    one_thread = BLAS.available and BLAS.get() > 1
    if one_thread:  # small matrices: BLAS threads can cost more than they bring
        batched += [(f"(c) core `train(batch_size={B})`, BLAS limited to 1 thread",
                     train_row(f"core train B={B}, 1 BLAS thread", core_train_loop(text, B),
                               T * B, blas_threads=1), B, 1) for B in BATCH_SIZES]
    best = max(batched, key=lambda r: r[1].rate)
    for label, meter, _, _ in batched:
        is_best = meter is best[1]
        ratio_row(label + (" — fastest" if is_best else ""), meter,
                  TARGET_BATCHED if is_best else None)
    # the LSTM of notebook 10 (H_LSTM = 45: the RNN's parameter count), at B=1 and the fastest B
    m = train_row("core train LSTM B=1", core_train_loop(text, 1, cell="lstm"), T)
    ratio_row(f"(e) core `train(cell=\"lstm\", hidden_size={H_LSTM}, batch_size=1)`", m,
              note=f"same parameter count as the RNN at H={H}")
    lstm_B, lstm_threads = best[2], best[3]
    m = train_row(f"core train LSTM B={lstm_B}", core_train_loop(text, lstm_B, cell="lstm"),
                  T * lstm_B, blas_threads=lstm_threads)
    ratio_row(f"(e) core `train(cell=\"lstm\", hidden_size={H_LSTM}, batch_size={lstm_B})`"
              + (", BLAS limited to 1 thread" if lstm_threads else ""), m,
              note="the RNN's fastest batch size")
    m = train_row("core train B=64 float32", core_train_loop(text, 64, np.float32), T * 64)
    ratio_row("(d) core `train(batch_size=64, dtype=np.float32)`", m)
    if one_thread:
        m = train_row("core train B=64 float32, 1 BLAS thread",
                      core_train_loop(text, 64, np.float32), T * 64, blas_threads=1)
        ratio_row("(d) core `train(batch_size=64, dtype=np.float32)`, BLAS limited to 1 thread", m)

    try:
        import torch  # noqa: F401
    except ImportError:
        rows.append(("PyTorch `nn.RNN` reference, B=64", "(torch not installed)",
                     "", "", "", "", "", ""))
    else:
        m = train_row("torch nn.RNN B=64", torch_loop(text, 64), T * 64)
        ratio_row("PyTorch `nn.RNN` reference, B=64 (forward + backward + Adagrad)", m,
                  note=f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    log("measuring sampling ...")
    rate, cpu_rate = sampling_rates(text)
    rows.append(("`sample`, n=20,000", f"{rate:,.0f} chars/s", "", f"{cpu_rate:,.0f}", "",
                 f"≥ {TARGET_SAMPLING:,} chars/s",
                 verdict(rate >= TARGET_SAMPLING, cpu_rate >= TARGET_SAMPLING),
                 f"{1e6 / rate:.1f} µs/char, CPU share {rate / cpu_rate:.2f}"))

    py = sys.executable
    if args.skip_unit:
        rows.append(("unit tests (`pytest tests -q`)", "skipped", "", "", "",
                     f"< {TARGET_UNIT:.0f} s", "", ""))
    else:
        rows.append(suite_row("unit tests (`pytest tests -q`)",
                              [py, "-m", "pytest", "tests", "-q", "--ignore=tests/e2e"], TARGET_UNIT))
    label = "nbval suite" + ("" if args.nbval_dir == "notebooks" else f" ({args.nbval_dir})")
    if args.skip_nbval:
        rows.append((label, "skipped", "", "", "", f"< {TARGET_NBVAL:.0f} s", "", ""))
    else:
        rows.append(suite_row(label, [py, "-m", "pytest", "--nbval", args.nbval_dir,
                                      "--nbval-current-env", "--nbval-sanitize-with",
                                      "tests/nbval_sanitize.cfg", "-q"], TARGET_NBVAL))

    if args.plateau is not None:
        B = args.plateau_batch or best[2]
        threads = best[3] if args.plateau_batch is None else None  # the fastest row's setting
        dtype = np.float32 if args.plateau_float32 else np.float64
        log(f"plateau run: B={B}, lr={args.plateau_lr}, target {args.plateau} ...")
        before = BLAS.get()
        if threads is not None:
            BLAS.set(threads)
        try:
            seconds, iters, smooth, reached = time_to_plateau(
                text, args.plateau, B, args.plateau_lr, dtype, args.plateau_max_iters)
        finally:
            if threads is not None:
                BLAS.set(before)
        setting = (f"B={B}, lr={args.plateau_lr:g}" + (", float32" if args.plateau_float32 else "")
                   + (f", {threads} BLAS thread" if threads else ""))
        epochs = iters * T * B / len(text)
        rows.append((f"time to smoothed loss < {args.plateau:g} ({setting})",
                     f"{seconds:.1f} s" if reached else "not reached",
                     "", "", "", "", "",
                     f"{iters:,} updates, {epochs:.2f} passes over the text, "
                     f"smoothed loss {smooth:.3f}"))

    print("\n".join(header))
    print()
    print("| Measurement | Speed / time | × baseline | chars per CPU-s | × baseline (CPU) "
          "| Target | Result | Notes |")
    print("|---|--:|--:|--:|--:|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"Training rows: T·B characters per update; each row is warmed up, then timed in 3 "
          f"windows of {args.budget / 3:.2f} s (and ≥ 5 updates), best window reported. "
          "Chars per CPU-s divide by the CPU time of this process (all its threads) instead of "
          "wall-clock time: on a machine shared with other work they change little, while "
          "wall-clock rates drop. CPU share = CPU time / wall time (1.0 = one busy core; above 1: "
          "BLAS threads at work; well below 1: other programs are using the cores). "
          f"Learning rate {LEARNING_RATE}, elementwise clip {CLIP:g}, float64 unless noted. "
          "The baseline (a) is the gist's algorithm rewritten in this file, without its "
          "sampling and printing every 100 updates. A Result like \"MISS (CPU: PASS)\" means "
          "the wall-clock figure misses the target and the CPU-time figure meets it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
