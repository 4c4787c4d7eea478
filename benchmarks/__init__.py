"""Benchmarks: each runs as ``python -m benchmarks.NAME [--quick]``, prints a table and writes benchmarks/out/NAME.json."""
