"""MeanIoU: a num_classes x num_classes confusion matrix (rows: targets, columns: predictions),
then the mean over classes present of tp / (row + column - tp)."""
from __future__ import annotations

import torch

from ..losses.base import EPSILON
from .base import METRICS, Metric


@METRICS.register("mean_iou", "MeanIoU")
class MeanIoU(Metric):
    direction = "up"

    def __init__(self, num_classes: int, name: str | None = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name)
        if num_classes < 2:
            raise ValueError("num_classes must be >= 2")
        self.num_classes, self.ignore_class = num_classes, ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.add_state("total_cm", (num_classes, num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = y_true.detach(), y_pred.detach()
        if not self.sparse_y_true:
            y_true = y_true.argmax(dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(dim=self.axis)
        y_true, y_pred = y_true.reshape(-1).long(), y_pred.reshape(-1).long()
        weight = (torch.ones_like(y_true, dtype=torch.float32) if sample_weight is None
                  else sample_weight.detach().float().reshape(-1).expand(y_true.shape))
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        weight = torch.where(valid, weight, torch.zeros_like(weight))
        cells = torch.where(valid, y_true * self.num_classes + y_pred, torch.zeros_like(y_true))
        self.total_cm.view(-1).index_add_(0, cells, weight)

    def result(self) -> torch.Tensor:
        tp = self.total_cm.diagonal()
        denominator = self.total_cm.sum(dim=0) + self.total_cm.sum(dim=1) - tp
        valid = denominator > 1e-9
        iou = torch.where(valid, tp / (denominator + EPSILON), torch.zeros_like(tp))
        return iou.sum() / (valid.float().sum() + EPSILON)
