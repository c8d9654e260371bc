"""Benchmarks: `make bench` (or `python -m bench`) writes bench/out/report.md and bench/out/latency.png."""
