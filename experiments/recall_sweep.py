"""Notebook 10's recall-task sweep: RNN and LSTM, 3 distances, 2 learning rates, 5 seeds.

    python experiments/recall_sweep.py [--out checkpoints/recall-sweep.json]

Each run is ``nbtools.train_recall`` (notebook 07's recall task and training loop: 500
updates of 32 fresh sequences, global-norm clip 5, Adagrad) scored by
``nbtools.recall_accuracy`` on 600 fresh sequences (``run_one``). Deterministic: the
same accuracies and answers come out on every machine with the same NumPy. Takes about
a minute on one core; notebook 10 loads the result.
Besides the accuracy it stores what each model answers at the "?" for each symbol
(``nbtools.recall_answers``) and the training time of every run.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import nbtools  # noqa: E402

MODELS = {"rnn H=16": ("rnn", 16), "rnn H=32": ("rnn", 32), "lstm H=16": ("lstm", 16)}
GAPS = (10, 20, 40)
LEARNING_RATES = (0.05, 0.1)
SEEDS = (0, 1, 2, 3, 4)


def run_one(cell: str, hidden_size: int, learning_rate: float, k: int, seed: int):
    """One entry of the sweep: (accuracy, answers (3, V) as lists, training seconds)."""
    t0 = time.perf_counter()
    params = nbtools.train_recall(k, cell, seed=seed, hidden_size=hidden_size, learning_rate=learning_rate)
    seconds = round(time.perf_counter() - t0, 2)
    accuracy = nbtools.recall_accuracy(params, k, np.random.default_rng([1000 + seed, k]))
    answers = nbtools.recall_answers(params, k, np.random.default_rng([1000 + seed, k])).tolist()
    return accuracy, answers, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "checkpoints" / "recall-sweep.json"))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    runs = []
    for name, (cell, H) in MODELS.items():
        for lr in LEARNING_RATES:
            for k in GAPS:
                accs, answers, seconds = [], [], []
                for seed in SEEDS:
                    accuracy, answer, sec = run_one(cell, H, lr, k, seed)
                    accs.append(accuracy)
                    answers.append(answer)
                    seconds.append(sec)
                runs.append({"model": name, "cell": cell, "hidden_size": H, "learning_rate": lr,
                             "fillers": k, "accuracy": accs, "answers": answers,
                             "train_seconds": seconds})
                print(f"{name:10s} lr {lr:<5} k {k:2d}: {' '.join(f'{a:.2f}' for a in accs)}",
                      flush=True)
    result = {"task": "recall (notebook 07): symbol, k dots, '?'; chance 1/3",
              "updates": 500, "batch_size": 32, "clip_global_norm": 5.0, "optimizer": "adagrad",
              "seeds": list(SEEDS), "accuracy_on": "600 fresh sequences, rng [1000 + seed, k]",
              "answers": "per seed, counts (3, V): row = true symbol a, b, c; column = the most "
                         "likely character at the '?', in the order of vocab",
              "vocab": "".join(nbtools.RECALL_VOCAB.chars),
              "runs": runs, "total_seconds": round(time.perf_counter() - start, 1)}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
