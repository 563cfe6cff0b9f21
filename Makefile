# Two commands on a fresh machine:  make run  (serve the demo)  ·  make test  (run the suite)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install install-dev report-fonts run db serve test test-postgres test-browser browser-deps lint typecheck djcheck check clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed report-fonts
install-dev: $(VENV)/.installed-dev report-fonts

## Fallback fonts of the PDF report (CJK, Hangul, kana: Droid Sans Fallback; emoji: Symbola), from
## Debian's packages. Where apt is unavailable this only warns: the report still builds and prints
## U+FFFD for the characters DejaVu lacks.
REPORT_FONTS := /usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf
report-fonts:
	@for font in $(REPORT_FONTS); do test -f $$font || missing=1; done; \
	test -z "$$missing" || { command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-droid-fallback fonts-symbola; } \
	  || echo "report-fonts: fonts-droid-fallback / fonts-symbola not installed; the PDF report prints U+FFFD for CJK and emoji"

## Prepare the local SQLite database: schema, standards catalogue, demo product, and a checkpoint of
## the audit trail (development keys: DEBUG=1 uses a development AUDIT_KEY and makes a checkpoint key in var/).
db: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py load_standards
	DEBUG=1 $(PY) manage.py load_demo
	DEBUG=1 $(PY) manage.py audit_checkpoint

## Install, prepare the database and serve the app on http://$(HOST):$(PORT)/ (local, DEBUG on).
run: db
	@echo ""
	@echo "  Q-interface is starting on http://$(HOST):$(PORT)/"
	@echo "  Sign in as qm / qm-demo (quality manager), dev / dev-demo (developer), auditor / auditor-demo (auditor)"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/   Admin: http://$(HOST):$(PORT)/admin/"
	@echo ""
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

## Production-style server (set SECRET_KEY, AUDIT_KEY, AUDIT_CHECKPOINT_KEY_FILE, DATABASE_URL, ALLOWED_HOSTS first: README).
serve: install
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn qms.wsgi --bind $(HOST):$(PORT) --workers 2

## The whole test suite (SQLite unless DATABASE_URL says otherwise).
test: install-dev
	$(PY) -m pytest -n 2

test-postgres: install-dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/qinterface} $(PY) -m pytest -n 2

## Chromium for the browser tests, from Debian's packages (Playwright drives it; it downloads no browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)

## End-to-end tests in headless Chromium against a live server.
test-browser: install-dev browser-deps
	$(PY) -m pytest tests/browser -m browser -p no:xdist

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy qms standards traceability regops

djcheck: install-dev
	DJANGO_SETTINGS_MODULE=qms.test_settings $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=qms.test_settings $(PY) manage.py makemigrations --check --dry-run

## ruff + mypy + manage.py check + makemigrations --check + tests
check: lint typecheck djcheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles .test-media
