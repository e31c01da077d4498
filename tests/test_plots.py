import numpy as np
import pytest

from tl_helpers import plots


def test_image_grid_titles_and_layout():
    fig = plots.image_grid(np.zeros((5, 8, 8), "uint8"), [0, 1, 2, 0, 1], ["a", "b", "c"], ncols=3)
    assert [a.get_title() for a in fig.axes] == ["a", "b", "c", "a", "b"]


def test_confusion_matrix_rows_sum_to_one():
    fig = plots.confusion_matrix_plot([0, 0, 1, 1], [0, 1, 1, 1], ["x", "y"])
    cm = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(cm).sum(1), [1.0, 1.0])
    assert np.asarray(cm)[0, 0] == 0.5


def test_embedding_2d_methods():
    f = np.random.default_rng(0).random((40, 6))
    assert plots.embedding_2d(f, "pca").shape == (40, 2)
    assert plots.embedding_2d(f, "tsne").shape == (40, 2)
    with pytest.raises(ValueError, match="pca"):
        plots.embedding_2d(f, "umap")


def test_training_curves_and_marker():
    h = {"accuracy": [0.1, 0.5, 0.7], "val_accuracy": [0.1, 0.4, 0.6]}
    fig = plots.training_curves({"run": h}, markers={"fine-tuning": 2})
    assert len(fig.axes[0].lines) == 3  # train, val, marker


def test_mistakes_grid_orders_by_confidence():
    x = np.arange(4 * 4 * 4).reshape(4, 4, 4).astype("uint8")
    fig = plots.mistakes_grid(x, [0, 0, 1, 1], [1, 1, 1, 0], ["a", "b"], confidence=[0.2, 0.9, 0.5, 0.6], n=2)
    assert [a.get_title() for a in fig.axes] == ["a\n-> b", "b\n-> a"]


def test_learning_curves_orders_all_last():
    fig = plots.learning_curves({"a": {"all": 0.9, 5: 0.5, 20: 0.7}})
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["5", "20", "all"]
    xs, ys = fig.axes[0].lines[0].get_data()
    assert list(ys) == [0.5, 0.7, 0.9]  # the points in the order of the axis, not of the dict


def test_lr_sweep_log_axis_and_reference():
    fig = plots.lr_sweep([1e-4, 1e-3, 1e-2], [0.8, 0.85, 0.6], reference=0.75)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [list(line.get_ydata()) for line in ax.lines] == [[0.8, 0.85, 0.6], [0.75, 0.75]]

