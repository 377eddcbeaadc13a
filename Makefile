# Two commands: `make run` and `make test`. See README.md.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-browser deps venv messages compilemessages bench clean check-deploy scaleout audit

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "*** $(PY) not found; set PY=/path/to/python3.11"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

deps:
	sh scripts/system-deps.sh

compilemessages: $(STAMP)
	$(BIN)/python scripts/compilemessages.py

# Refresh the French catalogues, then list what still needs French: scripts/untranslated.py
messages: $(STAMP)
	sh scripts/makemessages.sh
	$(BIN)/python scripts/untranslated.py

# Web + Celery worker + beat on SQLite and a filesystem broker unless DATABASE_URL/REDIS_URL are set.
# DEBUG for every step, not only the servers: the settings refuse the public development key
# without it, and migrate runs first.
run: export DEBUG ?= true
run: $(STAMP) compilemessages
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py load_demo
	$(BIN)/python scripts/run.py

test: deps $(STAMP) compilemessages
	$(BIN)/python scripts/services.py -- $(BIN)/python -m pytest $(PYTEST_ARGS)

# Only the real-browser journeys (screenshots in test-artifacts/screenshots/).
test-browser: deps $(STAMP) compilemessages
	$(BIN)/python scripts/services.py -- $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

# Benchmarks on a million generated orders (bench/RESULTS.md); ONLY=wizard,pages runs those alone
# (the generator first) and keeps the other sections. pyinstrument and py-spy only
# profile them (a bench without them still runs, minus the profiles).
bench: deps $(STAMP) compilemessages
	@$(BIN)/python -c "import pyinstrument" 2>/dev/null || $(BIN)/pip install -q pyinstrument==5.1.3 || true
	@test -x $(BIN)/py-spy || $(BIN)/pip install -q py-spy==0.4.3 || true
	$(BIN)/python scripts/services.py -- $(BIN)/python bench/run_all.py $(if $(ONLY),--only $(ONLY))

# Two webs, two Celery workers, two beats on one PostgreSQL + Redis: 1,000 orders, one email each
# (the same test also runs in `make test`; see docs/RELIABILITY.md).
scaleout: deps $(STAMP) compilemessages
	$(BIN)/python scripts/scaleout.py $(PYTEST_ARGS)

# Known vulnerabilities in everything installed, from PyPI's advisories (scripts/audit.py says how).
audit: $(STAMP)
	$(BIN)/python scripts/audit.py

check-deploy: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings_production SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	  ALLOWED_HOSTS=onboarding.example SITE_URL=https://onboarding.example \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
