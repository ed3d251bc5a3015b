"""Data: the MovieLens table, its file formats and sources, synthetic tables, splits applied.

Modules: ``table`` (the canonical table, built from parsed records), ``digest`` (the
table's sha256, column by column), ``formats`` (GroupLens and RecBole
parsers), ``sources`` (where MovieLens-100k is loaded from), ``columnar`` (the table built
from whole columns, for millions of interactions), ``arrow`` (pyarrow with its install
hint, and CSV files read column-wise), ``readers`` (MovieLens-1M/20M/25M files),
``interactions`` (a plain interactions file: CSV, TSV or Parquet), ``datasets`` (the
``--dataset`` registry), ``synthetic`` (drifting synthetic tables for tests and scaling),
``splitdata`` (registered splits applied to a table), ``history`` (causal features and
each interaction's earlier items, from strictly earlier rows).
May import: ``harness.errors``, ``splits``; pyarrow only inside ``arrow``, ``readers`` and
``interactions``; TensorFlow only inside ``sources`` and ``datasets`` to read a prepared
tfds copy. Nothing above this layer.
"""
