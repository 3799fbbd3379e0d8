# Jan Samvad: every target sets up what it needs (virtual environment, packages, migrations).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint migrate worker api bench clean user dev-tokens messages browser clamav answer-call whatsapp

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## make run: Temporal dev server (SQLite file), worker and API in the foreground; Ctrl-C stops all.
run: $(STAMP) clamav
	$(PY) -m core.stack

## make test: the whole suite (SQLite and PostgreSQL read models, time-skipping and dev servers).
test: $(STAMP) browser clamav
	$(PY) -m pytest

## make test-fast: the pure tests (tests/unit: no server, no PostgreSQL, no stack), in seconds.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -q

## make browser: Debian's chromium and a Devanagari font for the pages' browser tests
## (tests/system/test_pages_browser.py), installed with apt-get when missing and apt-get can.
browser:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi devanagari || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core >/dev/null; \
	  else echo "NOTICE: chromium (and fonts-noto-core) not installed: browser tests skip"; fi; }

## make clamav: ClamAV's daemon (Debian's clamav-daemon) that scans every attachment; `make run`
## and the tests start their own clamd with the signatures of deploy/clamav/ (no download).
clamav:
	@command -v clamd >/dev/null || test -x /usr/sbin/clamd || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq clamav-daemon >/dev/null; \
	  else echo "NOTICE: clamd (clamav-daemon) not installed: attachments refused, tests skip"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

migrate: $(STAMP)
	$(PY) -m core.db upgrade

worker: $(STAMP)
	$(PY) -m workers.main

api: $(STAMP)
	$(PY) -m api.main

## make user ARGS="create asha --role telecaller": API users and tokens (printed once);
## ARGS="list", "token NAME", "revoke NAME". One token: python -m core.admin token revoke ID.
## make answer-call CASE=12/2026 DIGIT=1: answer the pending IVR call of a case under make run
## (DIGIT 1 solved, 2 not solved, 3 operator; STATUS=no-answer|busy|failed for an unanswered one).
answer-call: $(STAMP)
	$(PY) -m harness.answer_call $(CASE) $(DIGIT) $(if $(STATUS),--status $(STATUS))

## make whatsapp FROM=+919876543210 TEXT="Hello": write to the centre's WhatsApp number under make
## run (a signed webhook; the reply and the case's WhatsApp messages are printed; docs/whatsapp.md).
whatsapp: $(STAMP)
	$(PY) -m harness.whatsapp $(FROM) "$(TEXT)"

user: $(STAMP)
	$(PY) -m core.admin user $(ARGS)

## make dev-tokens: a development user per role, fresh tokens in DATA_DIR/dev-tokens.json.
dev-tokens: $(STAMP)
	$(PY) -m core.admin dev-tokens

## make bench: throughput and latency beside a bare-engine baseline (its own stack; not in test).
## Sections and sizes with ARGS, e.g. make bench ARGS="--only review --review-cases 2000".
bench: $(STAMP)
	$(PY) -m bench.run $(ARGS)

## make messages: the English sources of the SMS texts, the refusals, the names (reference
## data, statuses, forums, the directory's offices) and the pages into
## schemas/locale/{sms,refusals,names,pages}.pot (no header, so an unchanged source leaves them
## unchanged), merged into every language's catalogue for translators.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract --no-default-keywords -k _t:1c,2 --no-location --width 100 \
		--omit-header --project "Jan Samvad" --copyright-holder "Jan Samvad contributors" \
		-o schemas/locale/sms.pot activities/templates.py
	$(VENV)/bin/pybabel update -D sms -i schemas/locale/sms.pot -d schemas/locale --width 100 \
		--ignore-pot-creation-date --ignore-obsolete
	$(VENV)/bin/pybabel extract --no-default-keywords -k _r:1c,2 --no-location --width 100 \
		--omit-header --project "Jan Samvad" --copyright-holder "Jan Samvad contributors" \
		-o schemas/locale/refusals.pot schemas/refusals.py
	$(VENV)/bin/pybabel update -D refusals -i schemas/locale/refusals.pot -d schemas/locale \
		--width 100 --ignore-pot-creation-date --ignore-obsolete
	$(PY) -m schemas.names "$${DIRECTORY_FILE:-core/seed/directory.json}" schemas/locale/names.pot
	$(VENV)/bin/pybabel update -D names -i schemas/locale/names.pot -d schemas/locale \
		--width 100 --ignore-pot-creation-date --ignore-obsolete
	$(PY) -m api.pages.messages schemas/locale/pages.pot
	$(VENV)/bin/pybabel update -D pages -i schemas/locale/pages.pot -d schemas/locale \
		--width 100 --ignore-pot-creation-date --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
