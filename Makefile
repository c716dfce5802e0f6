# ptce_nlp: the two commands of the README's quick start are `make analyse` and `make test`.
# Both create .venv when it is missing and install the package (editable) with its dependencies.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup analyse test corpus bench eval model clean distclean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job on the bundled corpus, into out/.
analyse: $(STAMP)
	$(BIN)/ptce-nlp run corpus --out out

# The whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerate the binary and text formats of corpus/ from corpus/src/.
corpus: $(STAMP)
	$(BIN)/python scripts/build_corpus.py

# Benchmarks (figures printed side by side; see the README's performance section).
bench: $(STAMP)
	$(BIN)/python scripts/bench_coding.py

# Precision, recall and F1 of the coder on the hand-labelled sentences.
eval: $(STAMP)
	$(BIN)/python scripts/eval_coding.py

clean:
	rm -rf out .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info

# Refit the reference model of models/reference on the bundled corpus (fixed seed: same arrays every time;
# only the date in model_card.json changes; the topic tables of the fit are not kept), then train the learned
# sentence coder of models/coder on the train split of tests/data/labels (it needs ../shared/seeds).
model: $(STAMP)
	tmp=$$(mktemp -d) && $(BIN)/ptce-nlp topics corpus --out $$tmp --save-model models/reference --seed 0 --quiet; \
	status=$$?; rm -rf $$tmp; test $$status = 0 && $(BIN)/python scripts/train_coder.py
