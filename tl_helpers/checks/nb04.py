"""Checks for notebook 04 (multi-task learning). Each recomputes the truth from the run's objects.

Example:
    >>> import keras, numpy as np
    >>> inp = keras.Input((2,))
    >>> m = keras.Model(inp, {"a": keras.layers.Dense(2, name="a")(inp), "b": keras.layers.Dense(2, name="b")(inp)})
    >>> ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> nb04_loss_dicts(m, {"a": ce, "b": ce}, {"a": 1.0, "b": 2.0}, heavy="b", light="a")
    ✅ Correct: the dicts are keyed by the heads' names and 'b' counts 2x as much as 'a'.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb04_loss_dicts", "nb04_uncertainty_total", "nb04_optimal_log_variance", "nb04_gradient_cosine",
           "nb04_paired_noise"]


def _need(condition: bool, hint: str) -> None:
    """Like ``expect`` but silent on success: for the intermediate conditions of a check."""
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def nb04_loss_dicts(model: Any, losses: Any, weights: Any, heavy: str = "color", light: str = "shape") -> None:
    """Exercise 1: loss / loss_weights dicts keyed by the output names, ``heavy`` weighted 2x ``light``.

    Example:
        >>> try:
        ...     nb04_loss_dicts(None, None, {})
        ... except CheckFailed as e:
        ...     print(str(e)[:35])
        ❌ Not yet: ex_losses is still empty
    """
    import keras

    answered(losses, "ex_losses"), answered(weights, "ex_weights")
    _need(isinstance(losses, dict) and isinstance(weights, dict),
           hint="both answers should be dicts: {head name: loss} and {head name: weight}.")
    names = set(model.output_names)
    _need(set(losses) == names, hint=f"ex_losses has keys {sorted(losses)}; the model's heads are named "
                                      "differently - print(ex_model.output_names).")
    _need(set(weights) == names, hint=f"ex_weights has keys {sorted(weights)}; use the heads' names.")
    ratio = float(weights[heavy]) / float(weights[light]) if float(weights[light]) else float("inf")
    _need(abs(ratio - 2.0) < 1e-6, hint=f"weights[{heavy!r}] / weights[{light!r}] is {ratio:.3g}; it should be 2.")
    clone = keras.models.clone_model(model)
    clone.compile(optimizer="sgd", loss=losses, loss_weights=weights)
    x = np.random.default_rng(0).normal(size=(4,) + tuple(model.input_shape[1:])).astype("float32")
    y = {k: np.zeros((4,), "int64") for k in model.output}
    try:
        loss = float(np.ravel(clone.train_on_batch(x, y))[0])
    except Exception as err:  # a wrong loss object, say
        raise CheckFailed(f"❌ Not yet: compiling and training with your dicts fails: {type(err).__name__}: "
                          f"{str(err)[:200]}") from None
    expect(np.isfinite(loss), hint="the loss is not finite: are your losses for logits (from_logits=True)?",
           success=f"the dicts are keyed by the heads' names and {heavy!r} counts 2x as much as {light!r}.")


def nb04_uncertainty_total(fn: Any) -> None:
    """Exercise 2: ``fn(losses, log_vars)`` returns ``sum_i exp(-s_i) L_i + s_i``, gradients flowing to ``s``.

    The truth comes from :class:`tl_helpers.multitask.UncertaintyWeighting` on a few random inputs.

    Example:
        >>> import keras
        >>> nb04_uncertainty_total(lambda L, s: keras.ops.sum(keras.ops.exp(-s) * L + s))
        ✅ Correct: your loss matches the uncertainty-weighting layer, and its gradient too.
        >>> try:
        ...     nb04_uncertainty_total(lambda L, s: keras.ops.sum(keras.ops.exp(-s) * L))
        ... except CheckFailed as e:
        ...     print(str(e)[:30])
        ❌ Not yet: for losses [0.5, 2.
    """
    import keras

    from ..autodiff import value_and_grads
    from ..multitask import UncertaintyWeighting

    answered(fn, "ex_uncertainty_total")
    _need(callable(fn), hint="ex_uncertainty_total must be a function: def ex_uncertainty_total(losses, log_vars): ...")
    rng = np.random.default_rng(0)
    cases = [(np.array([0.5, 2.0], "float32"), np.array([0.5, 0.2], "float32"))]
    cases += [(rng.uniform(0.1, 3.0, n).astype("float32"), rng.normal(0, 1, n).astype("float32")) for n in (2, 3)]
    for L, s in cases:
        uw = UncertaintyWeighting([f"t{i}" for i in range(len(L))])
        uw.log_vars.assign(s)
        truth, (g_truth,) = value_and_grads(lambda: uw(list(L)), [uw.log_vars])
        v = keras.Variable(s, name="ex_log_vars")
        try:
            got, (g,) = value_and_grads(lambda: fn(keras.ops.convert_to_tensor(L), v), [v])
            got = float(np.asarray(keras.ops.convert_to_numpy(got)).reshape(()))
        except Exception as err:
            raise CheckFailed(f"❌ Not yet: calling your function failed: {type(err).__name__}: {str(err)[:200]}. "
                              "It should return one scalar.") from None
        _need(abs(got - float(truth)) < 1e-4 * max(1.0, abs(float(truth))),
               hint=f"for losses {[round(float(x), 2) for x in L]} and s {[round(float(x), 2) for x in s]} your total "
                    f"is {got:.4f}. Each task adds exp(-s_i) * L_i + s_i; sum over the tasks (not the mean).")
        _need(g is not None, hint="no gradient reaches log_vars: compute with keras.ops, not numpy.")
        _need(np.allclose(keras.ops.convert_to_numpy(g), keras.ops.convert_to_numpy(g_truth), atol=1e-4),
               hint="the value is right but its gradient with respect to log_vars is not: use keras.ops throughout.")
    expect(True, hint="", success="your loss matches the uncertainty-weighting layer, and its gradient too.")


def _optimal_s(L: float, steps: int = 200, lr: float = 0.5) -> float:
    """Minimise exp(-s) L + s with the course's UncertaintyWeighting layer and gradient descent."""
    from ..autodiff import value_and_grads
    from ..multitask import UncertaintyWeighting

    uw = UncertaintyWeighting(["t"])
    for _ in range(steps):
        _, (g,) = value_and_grads(lambda: uw([L]), [uw.log_vars])
        uw.log_vars.assign(uw.log_vars - lr * g)
    return float(np.asarray(uw.log_vars)[0])


def nb04_optimal_log_variance(losses: dict[str, float], s_opt: Any, w_opt: Any) -> None:
    """Exercise 2: the minimiser of ``exp(-s) L + s`` per task and its weight ``exp(-s)``.

    Example:
        >>> nb04_optimal_log_variance({"a": 2.0}, {"a": float(np.log(2.0))}, {"a": 0.5})
        ✅ Correct: uncertainty weighting settles where the weight is 1 / loss: {'a': 0.5}
    """
    answered(s_opt, "ex_s_opt"), answered(w_opt, "ex_w_opt")
    _need(isinstance(s_opt, dict) and set(s_opt) == set(losses),
           hint=f"ex_s_opt should be a dict with one entry per task: {sorted(losses)}.")
    _need(isinstance(w_opt, dict) and set(w_opt) == set(losses),
           hint=f"ex_w_opt should be a dict with one entry per task: {sorted(losses)}.")
    for t, L in losses.items():
        truth = _optimal_s(float(L))
        _need(abs(float(s_opt[t]) - truth) < 1e-3,
               hint=f"for {t!r} your s is {float(s_opt[t]):.4f}, not the minimum. Set the derivative of "
                    "exp(-s) * L + s with respect to s to zero and solve for s.")
        _need(abs(float(w_opt[t]) - float(np.exp(-truth))) < 1e-3,
               hint=f"for {t!r} the weight should be exp(-s) at your optimal s.")
    print(f"✅ Correct: uncertainty weighting settles where the weight is 1 / loss: "
          f"{ {t: round(float(w), 3) for t, w in w_opt.items()} }")


def nb04_gradient_cosine(model: Any, losses: dict[str, Callable], x: Any, y: dict[str, Any], task_a: str,
                         task_b: str, variables: Sequence[Any], answer: Any) -> None:
    """Exercise 3: the cosine between two tasks' gradients on the shared weights.

    Example:
        >>> import keras
        >>> inp = keras.Input((2,)); z = keras.layers.Dense(2, name="s")(inp)
        >>> m = keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z), "u": keras.layers.Dense(1, name="u")(z)})
        >>> mse = {k: keras.losses.MeanSquaredError() for k in "tu"}
        >>> y = {"t": np.ones((4, 1)), "u": -np.ones((4, 1))}
        >>> try:
        ...     nb04_gradient_cosine(m, mse, np.ones((4, 2)), y, "t", "u", m.get_layer("s").weights, 5.0)
        ... except CheckFailed as e:
        ...     print(str(e)[:40])
        ❌ Not yet: a cosine similarity lies betw
    """
    from ..multitask import gradient_cosine

    answered(answer, "ex_cos")
    value = float(answer)
    _need(-1.0 - 1e-6 <= value <= 1.0 + 1e-6, hint="a cosine similarity lies between -1 and 1: divide the "
                                                    "dot product by both gradients' norms.")
    truth = gradient_cosine(model, losses, x, y, task_a, task_b, variables)
    expect(abs(value - truth) < 1e-3,
           hint="flatten every gradient tensor and join them into one vector per task before the dot product; "
                "take both gradients on the same batch and the same (shared) variables.",
           success=f"cosine {truth:+.3f}: the tasks {'agree' if truth > 0.1 else 'barely agree' if truth > -0.1 else 'conflict'} "
                   "on the shared layer right now.")


def nb04_paired_noise(a: Sequence[float], b: Sequence[float], diffs: Any, two_se: Any, real: Any) -> None:
    """Exercise 5: per-seed differences ``a - b``, two standard errors of their mean, and the verdict.

    Two standard errors of the mean difference: ``2 * sd(diffs, ddof=1) / sqrt(n)``;
    ``real`` is whether ``|mean(diffs)|`` exceeds it.

    Example:
        >>> a, b = [0.46, 0.44, 0.47], [0.45, 0.42, 0.47]
        >>> nb04_paired_noise(a, b, [0.01, 0.02, 0.0], 0.011547, False)
        ✅ Correct: the mean per-seed difference is +0.010 and two standard errors are 0.012: noise.
        >>> try:
        ...     nb04_paired_noise(a, b, [0.01, 0.02, 0.0], 0.009428, False)
        ... except CheckFailed as e:
        ...     print(str(e).split(": ", 1)[1][:37])
        two_se should use the sample sd (ddof
    """
    answered(diffs, "ex_diffs"), answered(two_se, "ex_two_se"), answered(real, "ex_real")
    a_, b_ = np.asarray(a, "float64"), np.asarray(b, "float64")
    n, truth = len(a_), a_ - b_
    got = np.ravel(np.asarray(diffs, "float64"))
    _need(got.shape == truth.shape, hint=f"ex_diffs has {got.size} values; it needs one per seed ({n}).")
    _need(not np.allclose(got, -truth, atol=1e-6) or np.allclose(truth, 0, atol=1e-6),
          hint="ex_diffs has the right size but the wrong sign: take the first list minus the second, seed by seed.")
    _need(np.allclose(got, truth, atol=1e-6),
          hint="ex_diffs should be the per-seed differences: first list minus second, in seed order (not sorted).")
    want = 2 * float(np.std(truth, ddof=1)) / np.sqrt(n)
    two = float(np.asarray(two_se, "float64").reshape(()))
    ddof0 = 2 * float(np.std(truth)) / np.sqrt(n)
    unpaired = 2 * float(np.sqrt(np.var(a_, ddof=1) / n + np.var(b_, ddof=1) / n))
    def near(x: float, y: float) -> bool:  # relative: these are small numbers
        return abs(x - y) <= 1e-3 * abs(y) + 1e-9

    if not near(two, want):
        if near(two, ddof0) and not near(want, ddof0):
            hint = "two_se should use the sample sd (ddof=1): np.std(ex_diffs, ddof=1)."
        elif near(two, unpaired) and not near(want, unpaired):
            hint = ("that is the unpaired error (from each list's own spread); use the spread of the per-seed "
                    "differences instead.")
        else:
            hint = "two_se = 2 * (sample sd of ex_diffs) / sqrt(number of seeds)."
        raise CheckFailed(f"❌ Not yet: {hint}")
    mean = float(truth.mean())
    _need(isinstance(real, (bool, np.bool_)), hint="ex_real should be True or False.")
    _need(bool(real) == (abs(mean) > want),
          hint=f"the mean difference is {mean:+.4f} and two standard errors are {want:.4f}: is the first larger "
               "than the second in size?")
    expect(True, hint="", success=f"the mean per-seed difference is {mean:+.3f} and two standard errors are "
                                  f"{want:.3f}: {'a real difference' if real else 'noise'}.")

