"""Pick notebook 01's `scratch_lr` on a validation set, never on the test set.

The from-scratch MobileNet of notebook 01 (section 3) trains on the k_main labels per class. This script
trains it exactly as the notebook does (same subset, same steps, same BatchNorm re-estimation) for each
candidate Adam learning rate and scores it on a validation set: `--val-per-class` training images per
class that are NOT in any of the notebook's labelled subsets. It prints the validation accuracy per rate
and the rate it picks. The test set is not loaded into any score.

Its result on the lite track, seed 0 (TensorFlow, 2026-12-04), validation accuracy per rate: 1e-3 0.386,
3e-3 0.501, 1e-2 0.622, 3e-2 0.695, 1e-1 0.646; so the notebook uses 3e-2.

Usage (lite track, about a minute per rate on a 2-core CPU):
    KERAS_HOME=... python3 tools/sweep_scratch_lr.py --profile lite [--seed 0] [--lrs 1e-3 3e-3 1e-2 3e-2 1e-1]
"""
from __future__ import annotations

import argparse

import keras
import numpy as np

from tl_helpers import backbones, baselines, batchnorm, config, data


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
    k_main = P.pick(full=20, lite=20, smoke=ks[0])
    labelled = np.unique(np.concatenate([np.asarray(v) for v in subsets.values()]))
    rest = np.setdiff1d(np.arange(len(d.y_train)), labelled)      # never labelled in the notebook
    val = rest[data.per_class_indices(d.y_train[rest], args.val_per_class, seed=P.seed + 1)]
    idx = subsets[k_main]
    x_k = data.prepare_images(d.x_train[idx], P.image_size, preprocess)
    val_ds = data.Batches(d.x_train[val], d.y_train[val], batch_size=256, image_size=P.image_size,
                          preprocess=preprocess)
    steps = P.pick(full=600, lite=280, smoke=2)
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
