# Set-up and everyday commands. Everything runs inside .venv (created when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install dev mnist test fuzz bench docs chaos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch==2.13.0 first: the range in pyproject.toml is then already satisfied (no CUDA download).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0" || $(BIN)/pip install --quiet "torch>=2.2,<3"
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(BENCH_STAMP): pyproject.toml $(DEV_STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $@

install: $(STAMP)

dev: $(DEV_STAMP)

mnist: install
	$(BIN)/trainer fit configs/mnist.yaml

test: dev
	KERAS_BACKEND=torch $(BIN)/python -m pytest -q -n 2 --dist loadfile

# 5,000 seeded fuzz cases of untrusted input (configs, data files, checkpoints) and a summary
# table; FUZZ_CASES=N for more. tests/test_fuzz.py runs 300 of them inside `make test`.
FUZZ_CASES ?= 5000
fuzz: dev
	KERAS_BACKEND=torch $(BIN)/python tests/fuzzing.py $(FUZZ_CASES)

# Regenerates schema/trainer.schema.json, the configs' yaml-language-server line and the
# README's config reference from engine/config/schema.py (a test fails when they are stale).
docs: install
	$(BIN)/python -m trainer.engine.config.docs

bench: $(BENCH_STAMP)
	cd bench && KERAS_BACKEND=torch ../$(BIN)/python bench_mnist.py
	$(BIN)/python bench/bench_data.py
	$(BIN)/python bench/bench_images.py
	$(BIN)/python bench/bench_startup.py

clean:
	rm -rf $(VENV) runs *.egg-info

# The chaos suite: SIGKILLs at moments spread over whole runs of three configs, and damaged
# checkpoints handed to fit and evaluate; prints a table and writes chaos.json.
chaos: dev
	KERAS_BACKEND=torch $(BIN)/python tests/chaos.py --json chaos.json
