"""Benchmarks: each runs as ``python -m benchmarks.NAME [--quick]``, first prints the command that
reproduces it, then its tables, and writes benchmarks/out/NAME.json."""
