# The two commands: `make run` (the whole stack on embedded defaults) and
# `make test` (the full suite). Both set up what they need.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test bench lint format migrate seed sandbox clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_pema
	$(PY) manage.py ensure_superuser
	$(PY) manage.py ensure_ids_connection
	@# Last before the processes' output starts, so the login does not scroll away.
	$(PY) manage.py show_admin_login
	$(VENV)/bin/honcho -f Procfile start

test: venv
	./scripts/test.sh $(ARGS)

# `make bench` runs every benchmark; `make bench BENCH="api ids"` only those.
bench: migrate
	$(PY) -m benchmarks $(BENCH)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var
