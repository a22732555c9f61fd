# Two entry points on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint bench docs-media clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/avatarlab say "Hello! I'm your new tutor. Let's build something beautiful, maybe a bright blue map." -o demo.mp4

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/ruff check avatarlab tests benchmarks

bench: $(STAMP)
	$(BIN)/avatarlab bench

docs-media: $(STAMP)
	$(BIN)/python benchmarks/../docs/make_media.py

clean:
	rm -rf $(VENV) build *.egg-info
