# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PWA_SOURCES := $(shell find pwa/src pwa/public -type f 2>/dev/null) pwa/index.html pwa/vite.config.js pwa/vite.staff.config.js pwa/staff/index.html

.PHONY: run test install lint bench bench-uploads bench-pwa bench-cases bench-notifications bench-supervision browser-deps cjk-font test-tools clean

run: install                                   ## install, migrate, load the demo, serve on :8000
	$(BIN)/zhengwu migrate
	$(BIN)/zhengwu seed --demo --if-empty
	$(BIN)/zhengwu serve --host 127.0.0.1 --port 8000

test: install browser-deps test-tools          ## every test: Python (SQLite + PostgreSQL + browser), PWA unit, budget, lint
	$(BIN)/ruff check api storage tests
	cd pwa && npm test && npm run budget
	ZHENGWU_TEST_POSTGRES_URL=$${ZHENGWU_TEST_POSTGRES_URL:-$(PG_URL)} $(BIN)/python -m pytest
	$(BIN)/python -m pytest tests/browser

install: $(VENV)/.installed pwa/dist/index.html cjk-font

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

pwa/node_modules/.installed: pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $@

pwa/dist/index.html: pwa/node_modules/.installed $(PWA_SOURCES)
	cd pwa && npm run build

# Vouchers (文书, api/workflow/vouchers.py) embed Noto Serif CJK SC from Debian's fonts-noto-cjk.
cjk-font: $(VENV)/.installed
	@$(BIN)/python -c "from api.workflow.vouchers import font_files; font_files()" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; \
	  else echo "vouchers need the CJK font Noto Serif CJK: sudo apt-get install fonts-noto-cjk" >&2; exit 1; fi; }
	@$(BIN)/python -c "from api.workflow.vouchers import font_files; font_files()"

# The voucher tests read the PDFs with poppler (pdftoppm, pdftotext).
test-tools:
	@command -v pdftoppm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq poppler-utils; \
	  else echo "install poppler first: sudo apt-get install poppler-utils" >&2; exit 1; fi; }

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else echo "install Chromium first: sudo apt-get install chromium fonts-wqy-microhei" >&2; exit 1; fi; }

lint:
	$(BIN)/ruff check api storage tests

bench: install                                 ## catalog read benchmark (prints figures; not pass/fail)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; }
	$(BIN)/python tests/bench/bench_catalog.py

bench-uploads: install                         ## tus upload throughput and RSS benchmark (prints figures)
	$(BIN)/python tests/bench/bench_uploads.py

CASES ?= 10000,1000000
bench-cases: install                           ## back-office queues, case list, accept at 10k and 1M cases (prints figures)
	ZHENGWU_TEST_POSTGRES_URL=$${ZHENGWU_TEST_POSTGRES_URL:-$(PG_URL)} $(BIN)/python tests/bench/bench_cases.py --cases $(CASES)

bench-notifications: install                   ## outbox → Web Push per second, 1 and 4 dispatchers, commit→push latency (prints figures)
	ZHENGWU_TEST_POSTGRES_URL=$${ZHENGWU_TEST_POSTGRES_URL:-$(PG_URL)} $(BIN)/python tests/bench/bench_notifications.py

bench-supervision: install                      ## supervision tick over 1M open steps, 4 workers, 2 simulated years vs an oracle
	ZHENGWU_TEST_POSTGRES_URL=$${ZHENGWU_TEST_POSTGRES_URL:-$(PG_URL)} $(BIN)/python tests/bench/bench_supervision.py

bench-pwa: install browser-deps                ## PWA home FCP/LCP/usable on slow 4G + 4x CPU (prints figures)
	$(BIN)/python tests/bench/bench_pwa.py

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist
