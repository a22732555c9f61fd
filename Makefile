# Two entry points on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint bench docs-media browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/avatarlab say "Hello! I'm your new tutor. Let's build something beautiful, maybe a bright blue map." -o demo.mp4

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
# Installed once, only where it is missing and we may install system packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium chromium-driver"; fi; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m ''

lint: $(STAMP)
	$(BIN)/ruff check avatarlab tests benchmarks docs

bench: $(STAMP)
	$(BIN)/avatarlab bench

docs-media: $(STAMP) browser
	$(BIN)/python docs/make_media.py
	AVATARLAB_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_browser.py -k generate_and_play

clean:
	rm -rf $(VENV) build *.egg-info
