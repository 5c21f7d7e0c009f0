"""Every streaming metric equals Keras 3 within 1e-5: seeded cases, with and without sample
weights, streamed over several batch splits; reset clears the state."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from keras_oracle import assert_close, case, keras, weights
from trainer.engine.metrics import Mean, Sum, build_metric

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# (our spec, keras metric factory, data kind)
CASES = [
    ("accuracy", lambda: keras.metrics.SparseCategoricalAccuracy(), "sparse"),
    ("accuracy", lambda: keras.metrics.BinaryAccuracy(), "binary"),
    ("accuracy", lambda: keras.metrics.CategoricalAccuracy(), "onehot"),
    ({"type": "Accuracy"}, lambda: keras.metrics.Accuracy(), "sparse_ids"),
    ("binary_accuracy", lambda: keras.metrics.BinaryAccuracy(), "multilabel"),
    ({"type": "BinaryAccuracy", "threshold": 0.7}, lambda: keras.metrics.BinaryAccuracy(threshold=0.7), "binary"),
    ("categorical_accuracy", lambda: keras.metrics.CategoricalAccuracy(), "onehot"),
    ("sparse_categorical_accuracy", lambda: keras.metrics.SparseCategoricalAccuracy(), "sparse"),
    ({"type": "TopKCategoricalAccuracy", "k": 2}, lambda: keras.metrics.TopKCategoricalAccuracy(k=2), "onehot"),
    ({"type": "SparseTopKCategoricalAccuracy", "k": 3},
     lambda: keras.metrics.SparseTopKCategoricalAccuracy(k=3), "sparse"),
    ("AUC", lambda: keras.metrics.AUC(), "binary"),
    ({"type": "AUC", "curve": "PR"}, lambda: keras.metrics.AUC(curve="PR"), "binary"),
    ({"type": "AUC", "num_thresholds": 17, "multi_label": True},
     lambda: keras.metrics.AUC(num_thresholds=17, multi_label=True), "multilabel"),
    ({"type": "AUC", "curve": "PR", "multi_label": True, "label_weights": [1, 2, 0.5, 1]},
     lambda: keras.metrics.AUC(curve="PR", multi_label=True, label_weights=[1, 2, 0.5, 1]), "multilabel"),
    ({"type": "AUC", "summation_method": "minoring", "thresholds": [0.2, 0.5, 0.6]},
     lambda: keras.metrics.AUC(summation_method="minoring", thresholds=[0.2, 0.5, 0.6]), "multilabel"),
    ({"type": "AUC", "summation_method": "majoring", "from_logits": True},
     lambda: keras.metrics.AUC(summation_method="majoring", from_logits=True), "binary_logits"),
    ("Precision", lambda: keras.metrics.Precision(), "multilabel"),
    ({"type": "Precision", "thresholds": [0.7, 0.3]}, lambda: keras.metrics.Precision(thresholds=[0.7, 0.3]), "binary"),
    ({"type": "Precision", "top_k": 2}, lambda: keras.metrics.Precision(top_k=2), "multilabel"),
    ({"type": "Precision", "class_id": 2}, lambda: keras.metrics.Precision(class_id=2), "multilabel"),
    ("Recall", lambda: keras.metrics.Recall(), "multilabel"),
    ({"type": "Recall", "top_k": 1, "class_id": 1}, lambda: keras.metrics.Recall(top_k=1, class_id=1), "onehot"),
    ({"type": "Recall", "thresholds": 0.3}, lambda: keras.metrics.Recall(thresholds=0.3), "binary"),
    ({"type": "F1Score"}, lambda: keras.metrics.F1Score(), "onehot"),
    ({"type": "F1Score", "average": "micro", "threshold": 0.5},
     lambda: keras.metrics.F1Score(average="micro", threshold=0.5), "multilabel"),
    ({"type": "F1Score", "average": "macro"}, lambda: keras.metrics.F1Score(average="macro"), "onehot"),
    ({"type": "FBetaScore", "average": "weighted", "beta": 2.0, "threshold": 0.4},
     lambda: keras.metrics.FBetaScore(average="weighted", beta=2.0, threshold=0.4), "multilabel"),
    ("mse", lambda: keras.metrics.MeanSquaredError(), "regression"),
    ({"type": "RootMeanSquaredError"}, lambda: keras.metrics.RootMeanSquaredError(), "regression"),
    ("mae", lambda: keras.metrics.MeanAbsoluteError(), "regression"),
    ("mape", lambda: keras.metrics.MeanAbsolutePercentageError(), "regression"),
    ("msle", lambda: keras.metrics.MeanSquaredLogarithmicError(), "positive"),
    ("cosine_similarity", lambda: keras.metrics.CosineSimilarity(), "regression"),
    ({"type": "LogCoshError"}, lambda: keras.metrics.LogCoshError(), "regression"),
    ({"type": "R2Score"}, lambda: keras.metrics.R2Score(), "regression"),
    ({"type": "R2Score", "class_aggregation": "variance_weighted_average", "num_regressors": 2},
     lambda: keras.metrics.R2Score(class_aggregation="variance_weighted_average", num_regressors=2),
     "regression"),
    ({"type": "MeanIoU", "num_classes": 4, "sparse_y_pred": False},
     lambda: keras.metrics.MeanIoU(num_classes=4, sparse_y_pred=False), "sparse"),
    ({"type": "MeanIoU", "num_classes": 4, "sparse_y_true": False, "sparse_y_pred": False,
      "ignore_class": 0},
     lambda: keras.metrics.MeanIoU(num_classes=4, sparse_y_true=False, sparse_y_pred=False,
                                   ignore_class=0), "onehot"),
    ("binary_crossentropy", lambda: keras.metrics.BinaryCrossentropy(), "binary"),
    ({"type": "CategoricalCrossentropy", "from_logits": True, "label_smoothing": 0.1},
     lambda: keras.metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "onehot_logits"),
    ("sparse_categorical_crossentropy", lambda: keras.metrics.SparseCategoricalCrossentropy(), "sparse"),
    ("kl_divergence", lambda: keras.metrics.KLDivergence(), "onehot"),
    ("poisson", lambda: keras.metrics.Poisson(), "positive"),
    ("hinge", lambda: keras.metrics.Hinge(), "binary_logits"),
    ("squared_hinge", lambda: keras.metrics.SquaredHinge(), "binary_logits"),
    ("categorical_hinge", lambda: keras.metrics.CategoricalHinge(), "onehot_logits"),
    ("huber", lambda: keras.metrics.MeanMetricWrapper(keras.losses.huber), "regression"),
    ({"type": "BinaryFocalCrossentropy", "gamma": 1.0},
     lambda: keras.metrics.MeanMetricWrapper(keras.losses.binary_focal_crossentropy, gamma=1.0), "binary"),
]
SPLITS = [(12,), (5, 7), (3, 3, 6)]


def data(kind: str, seed: int):
    if kind == "sparse_ids":  # predicted ids that sometimes equal the targets
        y_true, y_pred = case("sparse", seed)
        return y_true, y_pred.argmax(-1).astype("float32")
    return case(kind, seed)


def stream(metric, y_true, y_pred, w, split, tensor):
    start = 0
    for size in split:
        part = slice(start, start + size)
        args = [tensor(y_true[part]), tensor(y_pred[part])]
        metric.update_state(*args, sample_weight=None if w is None else tensor(w[part]))
        start += size
    return metric.result()


@pytest.mark.parametrize("spec,keras_metric,kind", CASES,
                         ids=lambda v: str(v)[:50] if not callable(v) else "")
@pytest.mark.parametrize("seed,split", [(0, SPLITS[0]), (1, SPLITS[1]), (2, SPLITS[2])])
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_equals_keras(spec, keras_metric, kind, seed, split, weighted):
    y_true, y_pred = data(kind, seed)
    w = weights(seed) if weighted else None
    if weighted and "MeanIoU" in str(spec):
        w = np.round(w * 2)  # Keras keeps IoU counts as ints: use whole weights
    ours = stream(build_metric(spec, "compile.metrics[0]"), y_true, y_pred, w, split, torch.from_numpy)
    theirs = stream(keras_metric(), y_true, y_pred, w, split, lambda a: a)
    assert_close(ours, theirs)


def test_reset_state_starts_a_new_epoch():
    y_true, y_pred = case("binary", 0)
    metric = build_metric("AUC", "m")
    metric.update_state(torch.from_numpy(y_true), torch.from_numpy(1 - y_pred))
    metric.reset_state()
    metric.update_state(torch.from_numpy(y_true), torch.from_numpy(y_pred))
    assert_close(metric.result(), keras.metrics.AUC()(y_true, y_pred))


@pytest.mark.parametrize("ours,theirs", [(Mean, keras.metrics.Mean), (Sum, keras.metrics.Sum)])
def test_mean_and_sum_equal_keras(ours, theirs):
    values = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
    w = weights(0)
    a, b = ours(), theirs()
    for part in (slice(0, 5), slice(5, 12)):
        a.update_state(torch.from_numpy(values[part]), torch.from_numpy(w[part]))
        b.update_state(values[part], sample_weight=w[part])
    a.update_state(torch.from_numpy(values[:2]))
    b.update_state(values[:2])
    assert_close(a.result(), b.result())


@pytest.mark.parametrize("spec,name", [
    ("mae", "mae"), ("AUC", "AUC"), ({"type": "AUC"}, "auc"), ({"type": "MeanIoU", "num_classes": 3},
                                                              "mean_io_u"),
    ({"type": "Precision", "name": "p"}, "p"), ({"type": "F1Score"}, "f1_score"),
    ({"type": "LogCoshError"}, "logcosh"), ({"type": "BinaryCrossentropy"}, "binary_crossentropy"),
])
def test_metric_names_follow_keras(spec, name):
    assert build_metric(spec, "compile.metrics[0]").name == name
