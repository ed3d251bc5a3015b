"""Data: the MovieLens table, its file formats and sources, synthetic tables, splits applied.

Modules: ``table`` (the canonical table and its hash), ``formats`` (GroupLens and RecBole
parsers), ``sources`` (where MovieLens-100k is loaded from), ``columnar`` (the table built
from whole columns, for millions of interactions), ``readers`` (MovieLens-1M/20M/25M files
and interactions files), ``datasets`` (the ``--dataset`` registry), ``synthetic``
(drifting synthetic tables for tests and scaling), ``splitdata`` (registered splits
applied to a table).
May import: ``harness.errors``, ``splits``; pyarrow only inside ``readers``; TensorFlow
only inside ``sources`` and ``datasets`` to read a prepared tfds copy. Nothing above this
layer.
"""
