"""Every loss (string and class form with arguments) equals Keras 3 within 1e-5, with and
without sample weights; user losses and bad names fail the way a user expects."""
from __future__ import annotations

import pytest
import torch

from keras_oracle import assert_close, case, keras, weights
from trainer.engine.errors import ConfigError
from trainer.engine.losses import CompiledLoss, build_loss

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# (our spec, keras loss object, data kind)
CASES = [
    ("mse", keras.losses.MeanSquaredError(), "regression"),
    ("mae", keras.losses.MeanAbsoluteError(), "regression"),
    ("mape", keras.losses.MeanAbsolutePercentageError(), "regression"),
    ("msle", keras.losses.MeanSquaredLogarithmicError(), "positive"),
    ("huber", keras.losses.Huber(), "regression"),
    ({"type": "Huber", "delta": 0.3}, keras.losses.Huber(delta=0.3), "regression"),
    ("log_cosh", keras.losses.LogCosh(), "regression"),
    ("binary_crossentropy", keras.losses.BinaryCrossentropy(), "binary"),
    ({"type": "BinaryCrossentropy", "from_logits": True, "label_smoothing": 0.2},
     keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), "binary_logits"),
    ({"type": "BinaryCrossentropy", "label_smoothing": 0.1},
     keras.losses.BinaryCrossentropy(label_smoothing=0.1), "multilabel"),
    ("binary_focal_crossentropy", keras.losses.BinaryFocalCrossentropy(), "binary"),
    ({"type": "BinaryFocalCrossentropy", "apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
      "from_logits": True, "label_smoothing": 0.1},
     keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.5,
                                          from_logits=True, label_smoothing=0.1), "binary_logits"),
    ("categorical_crossentropy", keras.losses.CategoricalCrossentropy(), "onehot"),
    ({"type": "CategoricalCrossentropy", "from_logits": True, "label_smoothing": 0.1},
     keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "onehot_logits"),
    ("categorical_focal_crossentropy", keras.losses.CategoricalFocalCrossentropy(), "onehot"),
    ({"type": "CategoricalFocalCrossentropy", "alpha": 0.5, "gamma": 3.0, "from_logits": True,
      "label_smoothing": 0.2},
     keras.losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=3.0, from_logits=True,
                                               label_smoothing=0.2), "onehot_logits"),
    ("sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(), "sparse"),
    ({"type": "SparseCategoricalCrossentropy", "from_logits": True},
     keras.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_logits"),
    ({"type": "SparseCategoricalCrossentropy", "from_logits": True, "ignore_class": 1},
     keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1), "sparse_logits"),
    ("kl_divergence", keras.losses.KLDivergence(), "onehot"),
    ("kld", keras.losses.KLDivergence(), "positive"),
    ("poisson", keras.losses.Poisson(), "positive"),
    ("cosine_similarity", keras.losses.CosineSimilarity(), "regression"),
    ("hinge", keras.losses.Hinge(), "binary_logits"),
    ("hinge", keras.losses.Hinge(), "regression"),
    ("squared_hinge", keras.losses.SquaredHinge(), "binary_logits"),
    ("categorical_hinge", keras.losses.CategoricalHinge(), "onehot_logits"),
]


@pytest.mark.parametrize("spec,keras_loss,kind", CASES, ids=lambda v: str(v)[:40] if not
                         isinstance(v, keras.losses.Loss) else "")
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_equals_keras(spec, keras_loss, kind, seed, weighted):
    y_true, y_pred = case(kind, seed)
    w = weights(seed) if weighted else None
    ours = build_loss(spec, "compile.loss")(torch.from_numpy(y_true), torch.from_numpy(y_pred),
                                            None if w is None else torch.from_numpy(w))
    theirs = keras_loss(y_true, y_pred, sample_weight=w)
    assert_close(ours, theirs)


def test_class_axis_argument_equals_keras():
    y_true, y_pred = case("onehot", 2)
    ours = build_loss({"type": "CategoricalCrossentropy", "axis": 0}, "l")(
        torch.from_numpy(y_true.T.copy()), torch.from_numpy(y_pred.T.copy()))
    assert_close(ours, keras.losses.CategoricalCrossentropy(axis=0)(y_true.T, y_pred.T))


def test_sparse_labels_with_trailing_axis_equal_keras():
    y_true, y_pred = case("sparse", 3)
    ours = build_loss("sparse_categorical_crossentropy", "l")(
        torch.from_numpy(y_true[:, None]), torch.from_numpy(y_pred))
    assert_close(ours, keras.losses.SparseCategoricalCrossentropy()(y_true[:, None], y_pred))


def test_multi_output_total_is_weighted_sum_of_unweighted_parts():
    (a_true, a_pred), (b_true, b_pred) = case("regression", 0), case("onehot", 0)
    w = weights(0)
    loss = CompiledLoss.from_config({"score": "mse", "cls": "categorical_crossentropy"},
                                    {"score": 2.0, "cls": 0.5}, ["score", "cls"])
    total, parts = loss({"score": torch.from_numpy(a_true), "cls": torch.from_numpy(b_true)},
                        {"score": torch.from_numpy(a_pred), "cls": torch.from_numpy(b_pred)},
                        torch.from_numpy(w))
    mse = keras.losses.MeanSquaredError()(a_true, a_pred, sample_weight=w)
    cce = keras.losses.CategoricalCrossentropy()(b_true, b_pred, sample_weight=w)
    assert_close(parts["score"], mse)
    assert_close(parts["cls"], cce)
    assert_close(total, 2.0 * keras.ops.convert_to_numpy(mse) + 0.5 * keras.ops.convert_to_numpy(cce))


def test_unknown_loss_suggests_the_closest_name():
    with pytest.raises(ConfigError, match="did you mean 'sparse_categorical_crossentropy'"):
        build_loss("sparse_categorical_crossentropi", "compile.loss")


def test_sparse_loss_refuses_a_one_unit_output():
    loss = CompiledLoss.from_config("sparse_categorical_crossentropy", None, ["out"])
    with pytest.raises(ConfigError, match="one output unit per class") as err:
        loss.check_outputs({"out": (1,)})
    assert err.value.key_path == "compile.loss"


# Keras 3 reductions: sum_over_batch_size (default), mean (its alias), sum,
# mean_with_sample_weight, none; with sample weights, masks (ignore_class) and sequence values.
REDUCTION_CASES = [
    ("mse", lambda r: keras.losses.MeanSquaredError(reduction=r), "regression"),
    ({"type": "SparseCategoricalCrossentropy", "ignore_class": 1},
     lambda r: keras.losses.SparseCategoricalCrossentropy(ignore_class=1, reduction=r), "sparse"),
    ({"type": "Huber", "delta": 0.5}, lambda r: keras.losses.Huber(delta=0.5, reduction=r),
     "regression"),
]


@pytest.mark.parametrize("spec,keras_loss,kind", REDUCTION_CASES, ids=["mse", "scce_ignore", "huber"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum",
                                       "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_reductions_equal_keras(spec, keras_loss, kind, reduction, weighted):
    y_true, y_pred = case(kind, seed=3)
    sw = weights(3) if weighted else None
    spec = {**(spec if isinstance(spec, dict) else {"type": spec}), "reduction": reduction}
    ours = build_loss(spec, "compile.loss")(torch.from_numpy(y_true), torch.from_numpy(y_pred),
                                            None if sw is None else torch.from_numpy(sw))
    theirs = keras_loss(reduction)(y_true, y_pred, sample_weight=sw)
    assert_close(ours, theirs)


def test_a_plain_function_loss_takes_a_reduction_and_bad_reductions_are_refused(tmp_path):
    (tmp_path / "fns.py").write_text(
        "import torch\n"
        "def custom_mean_squared_error(y_true, y_pred):\n"
        "    return torch.mean(torch.square(y_true - y_pred), -1)\n")
    y_true, y_pred = case("regression", seed=4)
    spec = {"type": f"{tmp_path}/fns.py:custom_mean_squared_error", "reduction": "sum"}
    ours = build_loss(spec, "compile.loss")(torch.from_numpy(y_true), torch.from_numpy(y_pred))
    assert_close(ours, keras.losses.MeanSquaredError(reduction="sum")(y_true, y_pred))
    with pytest.raises(ConfigError, match="unknown reduction 'average'.*sum_over_batch_size"):
        build_loss({"type": "mse", "reduction": "average"}, "compile.loss")
