# The two set-up commands of the README: `make demo` and `make test`.
.PHONY: demo test test-slow env

env:
	@bash scripts/setup_env.sh

demo: env
	.venv/bin/lamina demo

test: env
	.venv/bin/python -m pytest -q --durations=15

test-slow: env
	.venv/bin/python -m pytest -q -m slow
