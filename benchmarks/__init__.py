"""Benchmarks that need more than one tier (run from the repository root as `python -m benchmarks.<name>`, or
under pytest inside Home Assistant's environment); each writes its own section of docs/benchmarks.md."""
