# The two commands: `make dev` runs the whole system locally; `make test` runs every test.
.PHONY: dev test bench token sfu fmt

dev:
	bash infra/scripts/dev.sh

test:
	bash infra/scripts/test.sh

# The audience-scale benchmark (not part of `make test`): writes BENCHMARKS.md.
bench:
	bash infra/scripts/bench.sh

# make token USER=alice — a dev JWT for USER, signed with JWT_SECRET (local default as in make dev);
# make token SERVICE=billing — a server token (it may credit wallets).
token:
	@bash infra/scripts/token.sh $(if $(SERVICE),--service $(SERVICE),$(USER))

# Installs livekit-server (go install from the module proxy) into the cache without starting anything.
sfu:
	bash infra/scripts/livekit.sh install

fmt:
	cargo fmt --all
