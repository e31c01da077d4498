#!/usr/bin/env bash
# Set up this machine for the course: Python packages, Fashion-MNIST, the Keras weights cache.
# Idempotent: run it again any time. Usage (from the repository root): bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

echo "== Python packages (requirements.txt; installs tl_helpers too)"
"$PY" -m pip install -q --disable-pip-version-check -r requirements.txt

echo "== Fashion-MNIST (lite and smoke tracks)"
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "   found in /usr/share/datasets/fashion-mnist"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
else
  echo "   no apt-get here: Keras will download Fashion-MNIST on first use (or see data/README.md)"
fi

echo "== Keras weights cache"
KH="${KERAS_HOME:-$HOME/.keras}"
if [ -d ../shared/keras-home/models ]; then
  # A pre-seeded offline cache beside the checkout (course machines without internet).
  mkdir -p "$KH/models"
  cp -rn ../shared/keras-home/models/. "$KH/models/" 2>/dev/null || true
  chmod -R u+w "$KH"
  echo "   seeded $KH/models from ../shared/keras-home"
else
  echo "   $KH/models: Keras downloads ImageNet weights there on first use"
fi

"$PY" -m tl_helpers.doctor --quiet --profile "${TL_PROFILE:-auto}" || true
