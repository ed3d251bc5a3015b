"""Record: the format of a benchmark run, below the code that writes it (``run``,
``benchmarks/``) and the code that reads it (``report``).

A cell, the grid, a cell's benchmark entries, and every other kind of entry, each have one
definition here that the writer, the reader and the test fixtures share. Every kind of
entry that is not a cell has a frozen dataclass with its ``KIND``, ``to_dict()`` (the
``extra_info`` a writer puts in the file) and ``from_dict(data, where)`` (the same dict
read back and checked, or one-line :class:`~harness.errors.UserError` naming the entry and
the field); readers dispatch on the kind through one registry, never on which keys a dict
holds.

Modules: ``cell`` (the cell, its key and group over seeds, the protocols, and
:class:`~harness.record.cell.CellResult`: what a cell measured), ``grid`` (the cells a run
sets out to produce, its rules and the quick grid), ``declared`` (the grid a results file
declares, or the one its cells imply, in every shape a file has had), ``cellentry`` (a
cell's benchmark entries: built from its result, checked and read back), ``fields`` (a
record's fields checked against their types, and written back, for every record class),
``kinds`` (the entries that are not cells: the speed-up over the tutorial, a scaling point,
a serving point, the MovieLens-25M-shaped measurement, and
:data:`~harness.record.kinds.KINDS_BY_NAME`), ``entries`` (an entry that is not a cell read
into the record its kind names, or kept as recorded), ``runs`` (a run's cells grouped by
split, config, fit_on and protocol), ``reader`` (``load_run``: a results file validated and
read into a run), ``merge`` (several runs as one, and what two runs must share to be merged
or compared), ``provenance`` (library versions, the suite version, git commit, command and
time), ``redaction`` (no credential or home path in anything written), ``files`` (JSON and
text written atomically, read back with one clear error), ``machine`` (the machine a speed
was measured on, and whether two are alike), ``fingerprint`` (what a saved result was
computed from, and how two descriptions of a run differ), ``peruser`` (a cell's test users,
their interactions and hits, packed as compact strings).
May import: ``harness.errors``, ``splits`` and the registries of ``harness.model``
(``registry``, ``features``: plain dataclasses), numpy; never ``run`` or ``report``, never
TensorFlow or Optuna (writers and readers both load it, and reading results stays quick).
"""
