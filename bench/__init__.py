"""Benchmarks: figures printed, never asserted (`make bench`)."""
