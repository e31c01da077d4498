"""The course's data layer: one loader per task, one image pipeline, on every Keras backend.

* :mod:`.fashion_mnist` - the lite/smoke data, offline; :mod:`.tfds` - the full track's
  TFDS datasets (the only module that imports TensorFlow, and only when called).
* :mod:`.sampling` - k labels per class, stratified splits, nested subsets.
* :mod:`.pipeline` - resize + gray -> RGB + ``preprocess_input``: :func:`prepare_images`
  (one array) and :class:`Batches` (a ``keras.utils.PyDataset``; no ``tf.data``).
* one loader per task: :func:`load_image_classification` (00, 01, 02, 05, 07),
  :func:`load_domains` (03), :func:`load_multitask` (04), :func:`from_directory` (06,
  your own folder; :mod:`.demo_images` writes a demo one).

Example:
    >>> from tl_helpers import data
    >>> data.prepare_images(np.zeros((2, 28, 28), "uint8"), 32).shape
    (2, 32, 32, 3)
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctest above)

from .classification import ImageData, load_image_classification
from .domains import DomainData, blend_with_photos, load_domains
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from .folders import FolderData, from_directory, load_rgb, scan_folder
from .multitask import MultiTaskData, Task, load_multitask, make_multi_fashion
from .pipeline import Batches, prepare_images, to_rgb_resized
from .sampling import fitting_ks, few_labels, nested_label_subsets, per_class_indices, stratified_split

__all__ = ["ImageData", "load_image_classification", "DomainData", "blend_with_photos", "load_domains",
           "FASHION_MNIST_CLASSES", "load_fashion_mnist", "FolderData", "from_directory", "load_rgb",
           "scan_folder", "MultiTaskData", "Task", "load_multitask", "make_multi_fashion", "Batches",
           "prepare_images", "to_rgb_resized", "fitting_ks", "few_labels", "nested_label_subsets",
           "per_class_indices", "stratified_split"]
