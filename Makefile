# The two commands: `make run` (the whole stack on embedded defaults) and
# `make test` (the full suite). Both set up what they need.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test bench lint format migrate seed sandbox clean

# The local Booking.com simulator (the Procfile's sandbox on port 8100) and its machine
# account, as the simulator's own settings have them (BOOKING_SANDBOX_*).
BOOKING_SANDBOX_URL ?= http://127.0.0.1:8100/booking_com
# The local PayU simulator (same sandbox process); `make run` points the seeded hotel at it.
PAYU_SANDBOX_URL ?= http://127.0.0.1:8100/payu
BOOKING_CREDENTIALS = {"username": "$${BOOKING_SANDBOX_USERNAME:-sandbox-user}", \
	"password": "$${BOOKING_SANDBOX_PASSWORD:-sandbox-password}", \
	"hotel_id": "$${BOOKING_SANDBOX_HOTEL_ID:-1000001}"}

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
	@# The seeded hotel on the Booking.com simulator, mapped by code (kept as it is on a re-run).
	$(PY) manage.py ensure_connection booking_com --hotel PEMA --base-url $(BOOKING_SANDBOX_URL) --secure-base-url $(BOOKING_SANDBOX_URL)/secure --credentials-json "$(subst ",\",$(BOOKING_CREDENTIALS))" --products partners/booking_com/sandbox_products.json
	@# Online payments on the local PayU simulator, unless PAYU_KEY and PAYU_SALT say otherwise.
	$(PY) manage.py ensure_payu_config --sandbox $(PAYU_SANDBOX_URL)
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
