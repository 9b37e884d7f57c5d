.PHONY: demo test test-fast ui samples robustness
demo:  ## ingest the sample decks through Dagster, then search them
	scripts/demo.sh
test:  ## lint, types, then the whole test suite (creates .venv on first use)
	scripts/test.sh
test-fast:  ## lint, types, then the tests that take seconds (not the `slow` ones)
	scripts/test.sh -m "not slow"
ui:    ## the Dagster UI and daemon on http://127.0.0.1:3000
	scripts/ui.sh
robustness:  ## the real-world corpus and crafted bad files through drop folder, sensor and runs: a table
	scripts/robustness.sh
