"""Run: what a benchmark run is made of, and running it.

Modules: ``schema`` (the grid, the cell, the benchmark entry and the cell result: one
definition for the writer, the reader and the test fixtures), ``cell`` (one cell end to
end), ``serving`` (the serving retrievers timed side by side), ``rundir`` (the resumable
run directory), ``records`` (provenance, the suite version and atomic JSON files),
``machine`` (the machine a speed was measured on), ``progress`` (the progress bar every
long command shows on stderr).
May import: everything below (``data``, ``evaluation``, ``model``, ``record``); never
``results`` or ``report``.
"""
