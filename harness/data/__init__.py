"""Data: the MovieLens table, its file formats and sources, synthetic tables, splits applied.

Modules: ``table`` (the canonical table and its hash), ``formats`` (GroupLens and RecBole
parsers), ``sources`` (where a table is loaded from), ``synthetic`` (drifting synthetic
tables for tests and scaling), ``splitdata`` (registered splits applied to a table).
May import: ``harness.errors``, ``splits``; TensorFlow only inside ``sources`` to read a
prepared tfds copy. Nothing above this layer.
"""
