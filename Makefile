# Every target installs what it needs first: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= harvester.db
OUT    ?= out

.PHONY: install run test bench lint clean accuracy corpus-report trial-signals docs-images formats-report

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The main job on the embedded default: crawl the bundled fixtures through a loopback fixture hub.
run: install
	mkdir -p $(OUT)
	$(BIN)/harvester crawl --db $(DB) --serve-fixtures fixtures
	$(BIN)/harvester export --db $(DB) --format csv --out $(OUT)/taxonomy.csv
	$(BIN)/harvester export --db $(DB) --format json --out $(OUT)/taxonomy.json
	$(BIN)/harvester export --db $(DB) --format html --out $(OUT)/taxonomy.html
	$(BIN)/harvester plot --db $(DB) --out $(OUT)/levels.png

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m harvester.bench

# Whole-corpus figures, too slow for `make test`: agreement with the paper's development set
# (docs/accuracy.md), and the share of each level per component on the corpus's most-liked models.
accuracy: install
	$(BIN)/python -m harvester.accuracy

corpus-report: install
	$(BIN)/python -m harvester.corpus_report

# Every identified corpus model (needs ../shared/corpus): each CycloneDX BOM validated by the library's own
# validator and its licences checked against the weights cell; writes docs/mof.md and docs/mof-classes.csv.
formats-report: install
	$(BIN)/python -m harvester.formats_report --all

lint: install
	$(BIN)/ruff check harvester tests

# SIGINT and SIGTERM at 8 random points each of a crawl of 120 corpus models at 200 ms latency
# (needs ../shared/corpus); the last line is one JSON object with the figures.
trial-signals: install
	$(BIN)/python -m harvester.trials

# docs/report.png (headless Chromium) and docs/levels.png, from a crawl of 150 corpus models.
docs-images: install
	$(BIN)/python -m harvester.screenshots

clean:
	rm -rf $(VENV) $(OUT) $(DB) $(DB)-wal $(DB)-shm $(DB).lock .pytest_cache
	rm -f *.lock
