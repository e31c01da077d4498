"""Pick notebook 01's `scratch_lr` on a validation set, never on the test set.

The from-scratch MobileNet of notebook 01 (section 3) trains on the k_main labels per class. This script
trains it exactly as the notebook does (same subset, same steps, same BatchNorm re-estimation) for each
candidate Adam learning rate and scores it on a validation set: `--val-per-class` training images per
class that are NOT in any of the notebook's labelled subsets. It prints the validation accuracy per rate
and the rate it picks. The test set is not loaded into any score.

The best rate depends on the Keras backend, so the notebook keeps one per backend (its `SCRATCH_LR`).
Lite track, 2026-12-04, validation accuracy per rate:
- TensorFlow, seed 0: 1e-3 0.386, 3e-3 0.501, 1e-2 0.622, 3e-2 0.695, 1e-1 0.646; seed 1: 1e-2 0.622, 3e-2 0.675.
- JAX, seed 0: 3e-3 0.625, 1e-2 0.643, 3e-2 0.672, 1e-1 0.631; seed 1: 1e-2 0.660, 3e-2 0.696.
- PyTorch, seed 0: 3e-3 0.585, 1e-2 0.694, 3e-2 0.644, 1e-1 0.513; seed 1: 1e-2 0.699, 3e-2 0.680.
So 3e-2 on TensorFlow and JAX, 1e-2 on PyTorch.

Usage (lite track, about a minute per rate on a 2-core CPU):
    KERAS_BACKEND=... KERAS_HOME=... python3 tools/sweep_scratch_lr.py --profile lite [--seed 0] \
        [--lrs 1e-3 3e-3 1e-2 3e-2 1e-1]
"""
from __future__ import annotations

import argparse

import keras
import numpy as np

from tl_helpers import backbones, baselines, batchnorm, config, data

#: Notebook 01's choices this script repeats: its step budget and k_main per track (smoke: the smallest k),
#: and the lines that build, train and recalibrate the model. tests/test_notebooks_static.py fails when
#: notebook 01 no longer contains :func:`notebook_lines`, so the script and the notebook cannot drift apart.
STEPS = {"full": 600, "lite": 280, "smoke": 2}
K_MAIN = {"full": 20, "lite": 20}
MODEL_LINES = (
    'scratch_base = backbones.build_backbone(P.backbone, P.image_size, weights=None)',
    'return keras.Sequential([layers.Dropout(0.2), layers.Dense(num_classes, activation="softmax")], name="head")',
    'model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",',
    'epochs = baselines.epochs_for(len(idx), 32, scratch_steps)',
    'batchnorm.reestimate_batchnorm(scratch_base, x_k)',
)


def notebook_lines() -> list[str]:
    """The lines of notebook 01 that this script's choices copy (checked by a test)."""
    return [f"k_main = P.pick(full={K_MAIN['full']}, lite={K_MAIN['lite']}, smoke=ks[0])",
            f"scratch_steps = P.pick(full={STEPS['full']}, lite={STEPS['lite']}, smoke={STEPS['smoke']})",
            *MODEL_LINES]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    ap.add_argument("--val-per-class", type=int, default=100)
    args = ap.parse_args()

    P = config.setup(args.profile, args.seed)
    d = data.load_image_classification(P)
    preprocess = backbones.preprocess_for(P.backbone)
    ks = data.fitting_ks(d.y_train, list(P.labels_per_class))      # as notebook 01 (section 2)
    subsets = data.nested_label_subsets(d.y_train, ks, seed=P.seed)
    k_main = P.pick(full=K_MAIN["full"], lite=K_MAIN["lite"], smoke=ks[0])   # as notebook 01
    labelled = np.unique(np.concatenate([np.asarray(v) for v in subsets.values()]))
    rest = np.setdiff1d(np.arange(len(d.y_train)), labelled)      # never labelled in the notebook
    val = rest[data.per_class_indices(d.y_train[rest], args.val_per_class, seed=P.seed + 1)]
    idx = subsets[k_main]
    x_k = data.prepare_images(d.x_train[idx], P.image_size, preprocess)
    val_ds = data.Batches(d.x_train[val], d.y_train[val], batch_size=256, image_size=P.image_size,
                          preprocess=preprocess)
    steps = P.pick(**STEPS)
    print(f"k={k_main}: {len(idx)} training images, validation {len(val)} images outside every labelled subset")
    scores = {}
    for lr in args.lrs:                       # the notebook's scratch_network(), with weights=None
        keras.utils.set_random_seed(P.seed)
        scratch_base = backbones.build_backbone(P.backbone, P.image_size, weights=None)
        inputs = keras.Input(P.input_shape)
        head = keras.Sequential([keras.layers.Dropout(0.2), keras.layers.Dense(d.num_classes, activation="softmax")])
        model = keras.Model(inputs, head(scratch_base(inputs)))
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_k, d.y_train[idx], batch_size=32, epochs=baselines.epochs_for(len(idx), 32, steps), verbose=0)
        batchnorm.reestimate_batchnorm(scratch_base, x_k)
        scores[lr] = float(model.evaluate(val_ds, verbose=0)[1])
        print(f"scratch_lr {lr:.0e}: validation accuracy {scores[lr]:.3f}", flush=True)
    print(f"picked scratch_lr = {max(scores, key=scores.get):.0e}")


if __name__ == "__main__":
    main()
