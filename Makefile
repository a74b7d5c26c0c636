# The two commands of README: `make run` (the whole platform, embedded services) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: install run sandbox vscode lab-images web-build web-check web-dev test schema lint format

install: ## Python dependencies (uv, locked) and the router's (npm, locked)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	npm ci --prefix router --no-audit --no-fund --loglevel=error

run: install sandbox vscode web-build ## everything, on embedded PostgreSQL and Redis under ./.coursegraph
	$(UV) run coursegraph dev

sandbox: ## bubblewrap, the sandbox of labs run as local processes (installed where we may, else said)
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
		|| echo "labs: bubblewrap is missing (Debian: sudo apt-get install -y bubblewrap); labs will run as plain, UNSANDBOXED processes"

vscode: ## VS Code for process labs: code-server from npm into .venv (infra/lab-images/vscode; needs Node.js 20, a C++ compiler, ripgrep)
	@command -v rg >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep >/dev/null; } || true
	@if infra/lab-images/vscode/install-code-server.sh .venv/code-server; then \
		ln -sfn ../code-server/bin/code-server .venv/bin/code-server; \
	else echo "labs: code-server could not be installed (above); VS Code labs are not offered"; fi

lab-images: ## the Docker lab images, built without a registry (docs/domains/labs.md); kept while their recipe is unchanged
	@command -v mmdebstrap >/dev/null 2>&1 || command -v debootstrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
		&& command -v apt-get >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; } \
		|| { echo "lab images: install mmdebstrap (Debian: sudo apt-get install -y mmdebstrap)"; exit 1; }
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) run coursegraph labs build-images

web-build: ## the web app into web/dist, which the router serves at / (skipped until web/package.json exists)
	@if [ -f web/package.json ]; then \
		npm ci --prefix web --no-audit --no-fund --loglevel=error && npm run --prefix web build; \
	else echo "web/package.json not found: no web app to build (the router explains this at /)"; fi

web-dev: ## the web app with hot reload: Vite on 5173, proxying /graphql and /auth to the router on 4000
	npm run --prefix web dev

web-check: ## the web app: generated types current with the supergraph, type check, unit tests, build
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	npm run --prefix web codegen:check
	npm run --prefix web test
	npm run --prefix web build

test: install lint vscode web-check ## lint (boundaries, types), schema pipeline check, the web app's checks, then the whole test suite
	$(UV) run coursegraph schema check
	$(UV) run pytest

schema: ## re-export every subgraph's SDL and re-compose the supergraph
	$(UV) run coursegraph schema export
	$(UV) run coursegraph schema compose

lint: ## style, the import boundaries (pyproject: importlinter), types (pyproject: pyright; downloads pyright from npm once)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports
	$(UV) run pyright

format:
	$(UV) run ruff check --fix .
	$(UV) run ruff format .
