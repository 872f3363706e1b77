"""Fake trackers and a loopback server, for tests and benchmarks (and your own tests)."""
