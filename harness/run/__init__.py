"""Run: what a benchmark run is made of, and running it.

Modules: ``schema`` (the grid, the cell, the benchmark entry and the cell result: one
definition for the writer, the reader and the test fixtures), ``cell`` (one cell end to
end), ``serving`` (the serving retrievers timed side by side), ``rundir`` (the resumable
run directory), ``records`` (provenance, the suite version and atomic JSON files),
``machine`` (the machine a speed was measured on), ``settings`` (a grid run's options),
``gridfile`` (the same from a TOML grid file), ``session`` (one grid run: data, run
directory, resume and outcome), ``progress`` (its progress bar), ``publish`` (its
benchmark entries and header, and its results written all at once).
May import: everything below (``data``, ``evaluation``, ``model``); never ``results`` or
``report``.
"""
