"""Exports of a trained model for serving (safetensors, ONNX, torch.export), each checked
against the checkpoint's predictions (exporter.py), and reading them back for `trainer
predict` (serving.py)."""
