# The README's two commands: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FONTS := $(VENV)/.fonts
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

.PHONY: run demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml $(FONTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Bulletin charts need a CJK font (Debian's fonts-noto-cjk); installed when we may.
$(FONTS):
	@mkdir -p $(VENV)
	@if [ -f $(CJK_FONT) ] || [ -n "$$DUBAN_CJK_FONT" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing fonts-noto-cjk for bulletin charts"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	else echo "note: no CJK font; install fonts-noto-cjk (or set DUBAN_CJK_FONT) for bulletin charts"; fi
	@touch $(FONTS)

# With no token configured `duban run` plays the offline demo on the local Bot API server.
run: $(STAMP)
	$(BIN)/duban run

demo: $(STAMP)
	$(BIN)/duban demo

# lint-imports: the layers and forbidden imports in pyproject's [tool.importlinter]
# (docs/architecture.md); a broken contract fails `make test` with its name.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on SQLite; then again on PostgreSQL when DUBAN_TEST_DB names a server
# (postgresql+asyncpg://user@127.0.0.1:5432/postgres, a role that may create databases).
unit: $(STAMP)
	env -u DUBAN_TEST_DB $(BIN)/pytest -q
	@if [ -n "$$DUBAN_TEST_DB" ]; then \
		echo "== the suite again on PostgreSQL (DUBAN_TEST_DB) =="; \
		$(BIN)/pytest -q; fi

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
