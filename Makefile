# Quick start: `make run` (set up, then compile the main sample) and `make test`.
# Both install what is missing and nothing else: a second run is quick.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE ?= samples/full.json
OUT    ?= out

# Debian/Ubuntu packages resumec needs at run time and in its tests.
DEB_PACKAGES := libreoffice-writer-nogui python3-uno poppler-utils \
	fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation fonts-noto-cjk \
	fonts-symbola fonts-noto-color-emoji \
	chromium chromium-driver \
	redis-server nginx

.PHONY: run test setup system-deps venv bench dist clean

run: setup
	$(BIN)/resumec compile $(SAMPLE) -o $(OUT)/
	@echo "PDF:  $(OUT)/$(basename $(notdir $(SAMPLE))).pdf"
	@echo "DOCX: $(OUT)/$(basename $(notdir $(SAMPLE))).docx"

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/bench.py

# The sdist and the wheel (built from the sdist), as a release would publish them.
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

setup: system-deps venv

# Installs only the packages that are missing; refreshes the lists first.
system-deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null; then \
			echo "Missing system packages:$$missing — see README 'Installing' for your OS" >&2; exit 1; \
		fi; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		echo "Installing:$$missing"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(OUT) .pytest_cache build dist *.egg-info
