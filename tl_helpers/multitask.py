"""Multi-task learning: loss weighting and gradient conflict (the data: :mod:`tl_helpers.data.multitask`).

* :class:`UncertaintyWeighting` is Kendall et al. (2018)'s learned loss weighting:
  ``L = sum_i exp(-s_i) * L_i + s_i`` with one log-variance ``s_i`` per task.
* :func:`gradient_cosine` measures whether two tasks pull the shared layers the same way.

Example:
    >>> cosine([np.array([1.0, 0.0])], [np.array([0.0, 2.0])])
    0.0
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np
from keras import ops

from .autodiff import value_and_grads


# -------------------------------------------------------------- loss weighting
class UncertaintyWeighting(keras.layers.Layer):
    """Kendall, Gal & Cipolla (2018): ``L = sum_i exp(-s_i) * L_i + s_i``, ``s_i`` learned.

    ``s_i`` is a log-variance: a task whose loss stays large gets a larger ``s_i``
    and so a smaller weight ``exp(-s_i)``; the ``+ s_i`` term stops all weights
    from collapsing to 0. At the optimum ``s_i = log(L_i)``.

    Example:
        >>> uw = UncertaintyWeighting(["a", "b"])
        >>> float(uw([2.0, 3.0]))  # s = 0: the plain sum
        5.0
        >>> uw.task_weights()
        {'a': 1.0, 'b': 1.0}
    """

    def __init__(self, tasks: Sequence[str], init: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if not tasks:
            raise ValueError("UncertaintyWeighting needs at least one task name, e.g. ['item_a', 'item_b'].")
        self.tasks = list(tasks)
        # Created here (not in build) so the optimizer sees it before the first training step.
        self.log_vars = self.add_weight(shape=(len(self.tasks),), initializer=keras.initializers.Constant(init),
                                        name="log_vars", trainable=True)

    def __call__(self, losses: Sequence[Any], **kwargs: Any) -> Any:
        if isinstance(losses, (list, tuple)):  # plain floats are fine too
            if len(losses) != len(self.tasks):
                raise ValueError(f"Got {len(losses)} losses for {len(self.tasks)} tasks {self.tasks}: "
                                 "pass one scalar loss per task, in the same order.")
            losses = [ops.cast(ops.convert_to_tensor(l), "float32") for l in losses]
        return super().__call__(losses, **kwargs)

    def call(self, losses: Sequence[Any]) -> Any:
        L = ops.stack(losses) if isinstance(losses, (list, tuple)) else losses
        s = self.log_vars
        return ops.sum(ops.exp(-s) * ops.cast(L, s.dtype) + s)

    def task_weights(self) -> dict[str, float]:
        """The current weights ``exp(-s_i)`` per task.

        Example:
            >>> UncertaintyWeighting(["a"], init=0.0).task_weights()
            {'a': 1.0}
        """
        w = np.exp(-keras.ops.convert_to_numpy(self.log_vars))
        return {t: round(float(v), 6) for t, v in zip(self.tasks, w)}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tasks": self.tasks}


class WeightHistory(keras.callbacks.Callback):
    """Record the weights ``exp(-s_i)`` of a layer's ``log_vars`` after every epoch (for a plot).

    Works with :class:`UncertaintyWeighting` and with any layer that keeps its log-variances
    in a variable named ``log_vars`` (pass ``tasks`` then, in the same order).

    Example:
        >>> WeightHistory(UncertaintyWeighting(["a"])).history
        {'a': []}
    """

    def __init__(self, weighting: keras.layers.Layer, tasks: Sequence[str] | None = None):
        super().__init__()
        self.weighting = weighting
        self.tasks = list(tasks if tasks is not None else weighting.tasks)
        self.history: dict[str, list[float]] = {t: [] for t in self.tasks}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        w = np.exp(-keras.ops.convert_to_numpy(self.weighting.log_vars))
        for t, v in zip(self.tasks, w):
            self.history[t].append(round(float(v), 6))


# ---------------------------------------------------------- gradient conflict
def cosine(grads_a: Sequence[Any], grads_b: Sequence[Any]) -> float:
    """Cosine similarity of two gradients given as lists of tensors (flattened and joined).

    1: the tasks pull the shared weights the same way; 0: unrelated; -1: opposite.

    Example:
        >>> g = [np.array([1.0, 2.0]), np.array([[3.0]])]
        >>> round(cosine(g, g), 6), round(cosine(g, [-t for t in g]), 6)
        (1.0, -1.0)
    """
    a = np.concatenate([np.ravel(keras.ops.convert_to_numpy(t)) for t in grads_a]).astype("float64")
    b = np.concatenate([np.ravel(keras.ops.convert_to_numpy(t)) for t in grads_b]).astype("float64")
    if a.shape != b.shape:
        raise ValueError(f"The gradients have different sizes ({a.size} vs {b.size}): "
                         "take both with respect to the same variables.")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def task_gradients(model: keras.Model, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                   task: str, variables: Sequence[keras.Variable], sample_weight: Any = None) -> list[Any]:
    """Gradient of one head's loss with respect to ``variables`` (e.g. the shared layers).

    Example:
        >>> inp = keras.Input((2,)); z = keras.layers.Dense(2, name="shared")(inp)
        >>> m = keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z)})
        >>> mse = {"t": keras.losses.MeanSquaredError()}
        >>> g = task_gradients(m, mse, np.ones((4, 2)), {"t": np.zeros((4, 1))}, "t",
        ...                    m.get_layer("shared").trainable_weights)
        >>> [tuple(t.shape) for t in g]
        [(2, 2), (2,)]
    """
    if task not in losses:
        raise KeyError(f"No loss for task {task!r}; the loss dict has {list(losses)}.")
    x = ops.convert_to_tensor(x)

    def loss_fn():
        pred = model(x, training=False)
        return losses[task](y[task], pred[task], sample_weight)

    return value_and_grads(loss_fn, variables)[1]


def gradient_cosine(model: keras.Model, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                    task_a: str, task_b: str, variables: Sequence[keras.Variable],
                    sample_weight: dict[str, Any] | None = None) -> float:
    """Cosine between two tasks' gradients on the shared ``variables`` (one probe batch).

    Example:
        >>> inp = keras.Input((2,)); z = keras.layers.Dense(2, name="shared")(inp)
        >>> m = keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z),
        ...                       "u": keras.layers.Dense(1, name="u")(z)})
        >>> mse = {"t": keras.losses.MeanSquaredError(), "u": keras.losses.MeanSquaredError()}
        >>> y = {"t": np.zeros((4, 1)), "u": np.zeros((4, 1))}
        >>> -1.0 <= gradient_cosine(m, mse, np.ones((4, 2)), y, "t", "u", m.get_layer("shared").weights) <= 1.0
        True
    """
    sw = sample_weight or {}
    ga = task_gradients(model, losses, x, y, task_a, variables, sw.get(task_a))
    gb = task_gradients(model, losses, x, y, task_b, variables, sw.get(task_b))
    return cosine(ga, gb)


class CosineHistory(keras.callbacks.Callback):
    """After every epoch, the gradient cosine of task pairs on the shared layers (a probe batch).

    Example:
        >>> CosineHistory({}, None, {}, [("a", "b")], []).history
        {'a vs b': []}
    """

    def __init__(self, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                 pairs: Sequence[tuple[str, str]], shared_layers: Sequence[str],
                 sample_weight: dict[str, Any] | None = None):
        super().__init__()
        self.losses, self.x, self.y, self.pairs = losses, x, y, list(pairs)
        self.shared_layers, self.sample_weight = list(shared_layers), sample_weight
        self.history: dict[str, list[float]] = {f"{a} vs {b}": [] for a, b in self.pairs}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        variables = [w for name in self.shared_layers for w in self.model.get_layer(name).trainable_weights]
        for a, b in self.pairs:
            self.history[f"{a} vs {b}"].append(
                gradient_cosine(self.model, self.losses, self.x, self.y, a, b, variables, self.sample_weight))


__all__ = ["UncertaintyWeighting", "WeightHistory", "cosine", "task_gradients", "gradient_cosine",
           "CosineHistory"]
