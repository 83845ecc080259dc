# Two commands for a fresh machine with only Python 3:  make lab  and  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Small matrices: one BLAS thread is faster than two fighting over a busy machine, and
# the same thread count everywhere keeps the notebooks' floating-point outputs identical.
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: lab test unit nbval execute mutants bench browser-test corpus checkpoint checkpoint-lstm \
	recall-sweep clean student student-test book book-test seeds lock

# Create the virtual environment and install exactly the locked versions (every package, with
# its hashes), then the two modules themselves. `make lock` is how the versions change.
LOCK        := requirements.lock
EXTRAS_LOCK := requirements-extras.lock
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The book and the browser tests: the same versions plus Jupyter Book and Playwright.
EXTRAS_STAMP := $(VENV)/.extras-installed
$(EXTRAS_STAMP): $(STAMP) $(EXTRAS_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(EXTRAS_LOCK)
	touch $(EXTRAS_STAMP)

# A deliberate update: resolve both lock files again against today's PyPI (the newest
# versions that fit pyproject.toml), reinstall, and run the tests. Commit the lock files,
# and any notebook outputs that `make execute` had to refresh, only when all is green.
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --fork-strategy fewest --generate-hashes --annotation-style line \
	--custom-compile-command "make lock" --upgrade --quiet
lock:
	test -x build/uv/bin/uv || ($(PYTHON) -m venv build/uv && \
		build/uv/bin/python -m pip install --quiet uv==$(UV_VERSION))
	build/uv/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)
	build/uv/bin/uv pip compile pyproject.toml --extra book --extra browser \
		--constraint $(LOCK) $(LOCK_FLAGS) -o $(EXTRAS_LOCK)
	rm -rf $(VENV)
	$(MAKE) test

lab: $(STAMP)  ## open JupyterLab on the first notebook
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
		notebooks/00-Run-It-and-Generate-Text.ipynb

test: unit nbval  ## unit tests, then every notebook under nbval

# tests/e2e/ holds the end-to-end checks (browser, book, student edition, mutants): not unit tests.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:nbval --ignore=tests/e2e

# Strict nbval: every committed text output must match a fresh run.
nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval notebooks --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -q

# Re-execute every notebook in a fresh kernel and save its outputs (run before committing one).
execute: $(STAMP)
	for nb in notebooks/[0-9]*.ipynb; do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done

# Every notebook with other seeds: its claims must not depend on one random draw (a few minutes).
SEEDS ?= 1 2 3
seeds: $(STAMP)
	$(BIN)/python tools/seeds.py --seeds $(SEEDS)

mutants: $(STAMP)  ## plant known bugs in copies of the two modules; each must be caught
	$(BIN)/python tests/e2e/mutants.py

bench: $(STAMP)  ## speed figures for the README
	$(BIN)/python benchmarks/bench.py

browser-test: $(EXTRAS_STAMP)  ## JupyterLab + headless Chromium: run notebooks, move sliders
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python tests/e2e/browser_test.py

# The student edition: student/ (generated, not committed) holds every numbered notebook without
# its cells tagged `solution` and without outputs (nbconvert's own preprocessors, configured in
# tools/student_edition.py), plus what it needs to run on its own: nbtools.py (every
# notebooks/*.py), charrnn_core.py and charrnn_io.py, the corpus and the checkpoints. Zip it and hand it out.
student: $(STAMP)
	rm -rf student
	mkdir -p student/data student/checkpoints
	$(BIN)/jupyter nbconvert --config tools/student_edition.py --log-level=WARN \
		--output-dir student notebooks/[0-9]*.ipynb
	cp notebooks/*.py charrnn_core.py charrnn_io.py student/
	cp data/README.md data/*.txt student/data/
	cp checkpoints/*.safetensors checkpoints/*.json student/checkpoints/

# Runs every student notebook top to bottom (every check: "not answered yet"), and checks the
# committed notebooks' solutions (every check: "correct").
student-test: student
	$(BIN)/python -m pytest tests/e2e/student_test.py -q -p no:nbval

# The static book: build/book/_build/html/index.html, from the executed notebooks (no
# re-execution), readable offline. MathJax comes from the npm registry into build/ (gitignored).
MATHJAX_VERSION := 3.2.2
MATHJAX := build/book-vendor/mathjax/tex-chtml.js


$(MATHJAX):
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	npm install --prefix build/book-npm --no-save --no-audit --no-fund --loglevel=error mathjax@$(MATHJAX_VERSION)
	rm -rf build/book-vendor/mathjax && mkdir -p build/book-vendor
	cp -r build/book-npm/node_modules/mathjax/es5 build/book-vendor/mathjax

book: $(EXTRAS_STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . --config book/_config.yml --toc book/_toc.yml \
		--path-output build/book --all --warningiserror --keep-going --quiet

book-test: book  ## the built book in headless Chromium: pages, images, math, no outside request
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python tests/e2e/book_test.py

# The pre-trained model the notebooks load: the blog post's run (H=100, T=25, 50,000 iterations).
checkpoint: $(STAMP)
	mkdir -p checkpoints
	$(BIN)/python -m charrnn_core train --data data/shakespeare.txt --hidden-size 100 \
		--seq-length 25 --iters 50000 --seed 0 --print-every 5000 --sample-every 0 \
		--checkpoint-every 0 --train-fraction 0.9 --out checkpoints/shakespeare-h100.safetensors

# The LSTM of notebook 10, on the same 90 % split: H=45 has the RNN's parameter count (26,360
# vs 26,180). Two runs of the same deterministic training: 50,000 updates (the RNN's number),
# and 16,000 updates, about the RNN's wall-clock (an LSTM update costs about 3x an RNN update).
LSTM_TRAIN = $(BIN)/python -m charrnn_core train --cell lstm --data data/shakespeare.txt \
	--hidden-size 45 --seq-length 25 --seed 0 --print-every 5000 --sample-every 0 \
	--checkpoint-every 0 --train-fraction 0.9
checkpoint-lstm: $(STAMP)
	mkdir -p checkpoints
	$(LSTM_TRAIN) --iters 50000 --out checkpoints/shakespeare-lstm.safetensors
	$(LSTM_TRAIN) --iters 16000 --out checkpoints/shakespeare-lstm-16k.safetensors

# Notebook 10's recall-task sweep (RNN and LSTM, 5 seeds): about a minute, result committed.
recall-sweep: $(STAMP)
	$(BIN)/python experiments/recall_sweep.py --out checkpoints/recall-sweep.json

clean:
	rm -rf $(VENV) screenshots student build
