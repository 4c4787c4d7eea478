# Two promises on a fresh machine with Python 3.11:
#   make run   installs everything and runs the main job (sample data -> train -> plan -> service)
#   make test  installs everything, runs the linter and the formatter check, then the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
CAPCAST_HOME ?= .capcast
export CAPCAST_HOME
SAMPLE := $(CAPCAST_HOME)/sample

.PHONY: install run lint system-packages test benchmark clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "capcast needs Python 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,dask]"
	$(BIN)/python -m pip check
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/capcast data generate --out $(SAMPLE) --seed 42
	$(BIN)/capcast data validate $(SAMPLE)
	$(BIN)/capcast train --data $(SAMPLE)
	$(BIN)/capcast forecast --out $(CAPCAST_HOME)/forecast.csv
	$(BIN)/capcast plan --forecast $(CAPCAST_HOME)/forecast.csv --site $(SAMPLE)/site.yaml --out $(CAPCAST_HOME)/plan.json
	$(BIN)/capcast serve

# The linter and the formatter first: a finding fails the run before any test does.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser and database tests use Debian's chromium and postgresql: install them when missing
# (machines and CI run as root), or stop with one line naming the packages.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "the tests need the Debian package(s)$$missing: apt-get install$$missing"; exit 1; fi; \
	  echo "installing Debian package(s)$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || { echo "could not install the Debian package(s)$$missing with apt-get"; exit 1; }; \
	fi

# pytest exits 5 when it collects no test; that is not a failure of the suite's set-up.
test: lint system-packages
	$(BIN)/python -m pytest; status=$$?; if [ $$status -eq 5 ]; then exit 0; else exit $$status; fi

benchmark: install
	$(BIN)/python -m benchmarks.pipeline

clean:
	rm -rf $(VENV) $(CAPCAST_HOME) benchmarks/out
