"""The names of the metrics, one definition for the evaluator, the report and the fixtures.

Metrics are flat, split-prefixed keys (``"test/top_100_categorical_accuracy"``, as TFRS
names FactorizedTopK's metric). No TensorFlow here: the report and the reader import it.
"""

from __future__ import annotations

DEFAULT_KS = (1, 5, 10, 50, 100)


def accuracy_key(k: int, prefix: str = "test") -> str:
    """Top-k categorical accuracy: the fraction of interactions whose item ranks in the
    top k (FactorizedTopK's metric)."""
    return f"{prefix}/top_{k}_categorical_accuracy"


def recall_key(k: int, prefix: str = "test") -> str:
    """Recall@k averaged per user."""
    return f"{prefix}/recall_at_{k}"


def ndcg_key(k: int, prefix: str = "test") -> str:
    return f"{prefix}/ndcg_at_{k}"


def mrr_key(cutoff: int, prefix: str = "test") -> str:
    """Mean reciprocal rank inside the top ``cutoff`` (0 beyond)."""
    return f"{prefix}/mrr_at_{cutoff}"


def metric_keys(prefix: str = "test", ks: tuple[int, ...] = DEFAULT_KS) -> list[str]:
    """Every key :func:`harness.evaluation.metrics.metrics_from_ranks` writes, in order."""
    keys = [key for k in ks for key in (accuracy_key(k, prefix), recall_key(k, prefix),
                                        ndcg_key(k, prefix))]
    return [*keys, mrr_key(max(ks), prefix)]


__all__ = ["DEFAULT_KS", "accuracy_key", "metric_keys", "mrr_key", "ndcg_key", "recall_key"]
