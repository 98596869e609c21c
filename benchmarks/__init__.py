"""Benchmarks: ``make bench`` runs every ``benchmarks/bench_*.py`` (or the ones named).

Each module defines ``TITLE`` and ``run() -> str``, which does its measuring
and returns a Markdown section. The runner prints each section and writes it
into ``docs/benchmarks.md`` between markers, so one benchmark can be re-run
without losing the others' figures. Benchmarks never run in the test suite.
"""
