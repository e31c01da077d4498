#!/usr/bin/env bash
# The course's tests in an install WITHOUT TensorFlow (pip install -e ".[jax,course]" or ".[torch,course]"):
# every notebook on the smoke track, plus the unit tests and doctests that need no TensorFlow. The rest of
# tests/ exercises TensorFlow-only paths (TFDS mocks, SavedModel, nbgrader and Colab rehearsals).
# Usage: KERAS_BACKEND=jax bash tools/test_without_tf.sh   (or KERAS_BACKEND=torch)
set -euo pipefail
cd "$(dirname "$0")/.."
export TL_PROFILE=smoke KERAS_BACKEND="${KERAS_BACKEND:-jax}"
exec python -m pytest -p no:cacheprovider \
  tests/test_no_tensorflow.py tests/test_export.py tests/test_doctor.py tests/test_data.py \
  tests/test_features.py tests/test_determinism.py tests/test_batchnorm.py tests/test_models.py tests/test_jax_cpu.py \
  tl_helpers/data tl_helpers/features.py tl_helpers/batchnorm.py tl_helpers/models.py \
  tl_helpers/export.py tl_helpers/jax_cpu.py tl_helpers/tf_trace.py tl_helpers/doctor.py tl_helpers/results.py tl_helpers/config.py notebooks "$@"
