.PHONY: demo test ui samples
demo:  ## ingest the sample decks through Dagster, then search them
	scripts/demo.sh
test:  ## the test suite (creates .venv on first use)
	scripts/test.sh
ui:    ## the Dagster UI and daemon on http://127.0.0.1:3000
	scripts/ui.sh
