"""Notebook 10's recall-task sweep: RNN and LSTM, 3 distances, 2 learning rates, 5 seeds.

    python experiments/recall_sweep.py [--out checkpoints/recall-sweep.json]

Each run is ``nbtools.train_recall`` (notebook 07's task and training loop: 500 updates
of 32 fresh sequences, global-norm clip 5, Adagrad) scored by ``nbtools.recall_accuracy``
on 600 fresh sequences. Deterministic: the same file comes out on every machine with the
same NumPy. Takes a few minutes on one core; notebook 10 loads the result.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import nbtools  # noqa: E402

MODELS = {"rnn H=16": ("rnn", 16), "rnn H=32": ("rnn", 32), "lstm H=16": ("lstm", 16)}
GAPS = (10, 20, 40)
LEARNING_RATES = (0.05, 0.1)
SEEDS = (0, 1, 2, 3, 4)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "checkpoints" / "recall-sweep.json"))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    runs = []
    for name, (cell, H) in MODELS.items():
        for lr in LEARNING_RATES:
            for k in GAPS:
                accs = []
                for seed in SEEDS:
                    params = nbtools.train_recall(k, cell, seed=seed, hidden_size=H, learning_rate=lr)
                    accs.append(nbtools.recall_accuracy(params, k, seed=1000 + seed))
                runs.append({"model": name, "cell": cell, "hidden_size": H, "learning_rate": lr,
                             "fillers": k, "accuracy": accs})
                print(f"{name:10s} lr {lr:<5} k {k:2d}: {' '.join(f'{a:.2f}' for a in accs)}",
                      flush=True)
    result = {"task": "recall (notebook 07): symbol, k dots, '?'; chance 1/3",
              "updates": 500, "batch_size": 32, "clip_global_norm": 5.0, "optimizer": "adagrad",
              "seeds": list(SEEDS), "accuracy_on": "600 fresh sequences, rng [1000 + seed, k]",
              "runs": runs}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
