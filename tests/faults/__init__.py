"""The fault suite (`make test-faults`, in `make test`): real processes killed, engines stopped
and restarted under load, each test showing that nothing committed is lost. Every engine a test
disturbs is its own (a redis-server, a PostgreSQL cluster on a free loopback port), never the
shared one other suites use."""
