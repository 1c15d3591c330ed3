"""Benchmarks (issue 8): see docs/benchmarks.md. Never asserted in tests."""
