"""Threshold metrics: Precision, Recall and AUC (ROC / PR), with Keras's confusion counting.

Counts at every threshold come from one bucketing pass (`torch.bucketize` + `index_add_` +
reverse cumsum), O(samples) on the device, equal to Keras's `prediction > threshold` rule."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..losses.base import EPSILON, align_ranks
from .base import METRICS, Metric

NEG_INF = -1e10


def divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


def prepare(y_true: torch.Tensor, y_pred: torch.Tensor, sample_weight: torch.Tensor | None,
            top_k: int | None = None, class_id: int | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(labels 0/1, predictions, weights), all shaped like the predictions."""
    y_pred, y_true = align_ranks(y_pred.detach().float(), y_true.detach().float())
    if sample_weight is None:
        weights = torch.ones_like(y_pred)
    else:
        weights = sample_weight.detach().float()
        weights = weights.reshape(weights.shape + (1,) * (y_pred.dim() - weights.dim()))
        weights = weights.expand_as(y_pred)
    if top_k is not None:
        keep = torch.zeros_like(y_pred, dtype=torch.bool).scatter_(
            -1, y_pred.topk(top_k, dim=-1).indices, True)
        y_pred = torch.where(keep, y_pred, torch.full_like(y_pred, NEG_INF))
    if class_id is not None:
        y_true, y_pred, weights = (t[..., class_id:class_id + 1] for t in (y_true, y_pred, weights))
    return (y_true != 0).float(), y_pred, weights


def positives_above(thresholds: torch.Tensor, predictions: torch.Tensor, values: torch.Tensor
                    ) -> torch.Tensor:
    """sum of `values` over entries with prediction > threshold, per threshold.

    `predictions`/`values` are [N] (-> [T]) or [N, L] (-> [T, L], one column per label)."""
    below = torch.bucketize(predictions.contiguous(), thresholds)  # thresholds < prediction
    columns = 1 if predictions.dim() == 1 else predictions.shape[1]
    index = below * columns
    if predictions.dim() == 2:
        index = index + torch.arange(columns, device=index.device)
    hist = torch.zeros((thresholds.numel() + 1) * columns, device=values.device)
    hist.index_add_(0, index.reshape(-1), values.reshape(-1))
    hist = hist.reshape(thresholds.numel() + 1, columns)[1:]
    counts = hist.flip(0).cumsum(0).flip(0)
    return counts.squeeze(1) if predictions.dim() == 1 else counts


def parse_thresholds(thresholds: Any, default: float) -> list[float]:
    values = [default] if thresholds is None else (
        [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds))
    if any(not 0.0 <= t <= 1.0 for t in values) and thresholds is not None:
        raise ValueError(f"thresholds must be in [0, 1], got {values}")
    return [float(t) for t in values]


class _PrecisionRecall(Metric):
    direction = "up"
    #: the second confusion count Precision ("false_positives") or Recall ("false_negatives") keeps
    other = ""

    def __init__(self, thresholds: float | Sequence[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None):
        super().__init__(name)
        values = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        order = np.argsort(values, kind="stable")
        self.single = len(values) == 1
        self.top_k, self.class_id = top_k, class_id
        self.register_buffer("thresholds", torch.tensor(np.asarray(values)[order], dtype=torch.float32),
                             persistent=False)
        self.register_buffer("order", torch.as_tensor(np.argsort(order)), persistent=False)
        self.add_state("true_positives", (len(values),))
        self.add_state(self.other, (len(values),))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        labels, preds, weights = prepare(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        labels, preds, weights = labels.reshape(-1), preds.reshape(-1), weights.reshape(-1)
        tp = positives_above(self.thresholds, preds, labels * weights)
        self.true_positives.add_(tp)
        if self.other == "false_positives":
            self.false_positives.add_(positives_above(self.thresholds, preds, (1 - labels) * weights))
        else:
            self.false_negatives.add_((labels * weights).sum() - tp)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        value = divide_no_nan(tp, tp + getattr(self, self.other))[self.order]
        return value[0] if self.single else value


@METRICS.register("precision", "Precision")
class Precision(_PrecisionRecall):
    other = "false_positives"


@METRICS.register("recall", "Recall")
class Recall(_PrecisionRecall):
    other = "false_negatives"


def _evenly_spaced(values: np.ndarray) -> bool:
    if len(values) < 3:
        return False
    step = 1.0 / (len(values) - 1)
    return bool(np.allclose(values, np.arange(len(values)) * step, atol=EPSILON))


@METRICS.register("auc", "AUC")
class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at `num_thresholds` thresholds."""

    direction = "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 thresholds: Sequence[float] | None = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Sequence[float] | None = None,
                 from_logits: bool = False):
        super().__init__(name)
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"curve must be ROC or PR, got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("summation_method must be interpolation, minoring or majoring")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.clip = _evenly_spaced(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("num_thresholds must be > 1")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.clip = True
        self.num_thresholds = len(inner) + 2
        self.curve, self.summation_method = curve.upper(), summation_method
        self.multi_label, self.from_logits = multi_label, from_logits
        self.register_buffer("thresholds", torch.tensor([-EPSILON] + inner + [1.0 + EPSILON],
                                                        dtype=torch.float32), persistent=False)
        self.register_buffer("label_weights", None if label_weights is None else
                             torch.tensor(label_weights, dtype=torch.float32), persistent=False)
        if not multi_label:
            self._build(())
        elif num_labels:
            self._build((num_labels,))

    def _build(self, columns: tuple) -> None:
        if not hasattr(self, "true_positives"):
            for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
                self.add_state(state, (self.num_thresholds,) + columns)

    def check_output(self, shape: tuple, key_path: str) -> None:
        if self.multi_label:
            self._build((shape[-1],))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred.float())
        labels, preds, weights = prepare(y_true, y_pred, sample_weight)
        if self.label_weights is not None and not self.multi_label:
            weights = weights * self.label_weights
        if self.clip:
            preds = preds.clamp(0.0, 1.0)
        if self.multi_label:
            labels, preds, weights = (t.reshape(-1, t.shape[-1]) for t in (labels, preds, weights))
            self._build((preds.shape[-1],))
        else:
            labels, preds, weights = labels.reshape(-1), preds.reshape(-1), weights.reshape(-1)
        positives, negatives = labels * weights, (1 - labels) * weights
        tp = positives_above(self.thresholds, preds, positives)
        fp = positives_above(self.thresholds, preds, negatives)
        self.true_positives.add_(tp)
        self.false_positives.add_(fp)
        self.false_negatives.add_(positives.sum(0) - tp)
        self.true_negatives.add_(negatives.sum(0) - fp)

    def _interpolate_pr_auc(self) -> torch.Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * p[1:]
        ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], p[1:].clamp_min(0)),
                            torch.ones_like(p[1:]))
        return divide_no_nan(slope * (dtp + intercept * torch.log(ratio)),
                             (tp[1:] + fn[1:]).clamp_min(0))

    def _riemann_terms(self) -> torch.Tensor:
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return (x[:-1] - x[1:]) * heights

    def result(self) -> torch.Tensor:
        if self.curve == "PR" and self.summation_method == "interpolation":
            terms = self._interpolate_pr_auc()
        else:
            terms = self._riemann_terms()
        if not self.multi_label:
            return terms.sum()
        by_label = terms.sum(dim=0)
        if self.label_weights is None:
            return by_label.mean()
        return divide_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum())
