"""Record: the typed entries of a benchmark JSON file, below the code that writes them and
the code that reads them.

Every kind of entry has a frozen dataclass with its ``KIND``, ``to_dict()`` (the
``extra_info`` a writer puts in the file) and ``from_dict(data, where)`` (the same dict
read back and checked, or one-line :class:`~harness.errors.UserError` naming the entry and
the field); readers dispatch on the kind through one registry, never on which keys a dict
holds.

Modules: ``fields`` (a record's fields checked against their types, and written back, for
every record class), ``kinds`` (the entries that are not cells: the speed-up over the
tutorial, a scaling point, a serving point, the MovieLens-25M-shaped measurement, and
:data:`~harness.record.kinds.KINDS_BY_NAME`), ``peruser`` (a cell's test users, their
interactions and hits, packed as compact strings).
May import: ``harness.errors`` and numpy only, nothing of data, evaluation, model or above; never
TensorFlow or Optuna (writers and readers both load it, and reading results stays quick).
"""
