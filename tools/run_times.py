"""Print each notebook's run time as nbconvert recorded it in the committed notebook.

    .venv/bin/python tools/run_times.py

The time from the first code cell's start to the last one's end, taken from the cells'
`execution` metadata that `make execute` (nbconvert --execute) writes. TEACHING.md's table of
run times comes from here: re-run it after re-executing the notebooks.
"""

import json
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def when(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def run_time(path):
    """Seconds from the first code cell's start to the last one's end, or None if not recorded."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    runs = [c["metadata"]["execution"] for c in cells
            if c["cell_type"] == "code" and "execution" in c.get("metadata", {})]
    try:
        return (when(runs[-1]["shell.execute_reply"])
                - when(runs[0]["iopub.execute_input"])).total_seconds()
    except (IndexError, KeyError):
        return None


def main():
    total = 0.0
    print("| notebook | cells |\n|---|--:|")
    for path in sorted((REPO / "notebooks").glob("[0-9]*.ipynb")):
        seconds = run_time(path)
        total += seconds or 0.0
        shown = "not recorded" if seconds is None else f"{seconds:.1f} s"
        print(f"| {path.stem} | {shown} |")
    print(f"| all | {total:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
