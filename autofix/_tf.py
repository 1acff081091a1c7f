"""Import Keras quietly and only when needed.

`import tensorflow` costs seconds and prints log lines; the CLI must answer `--help`
without it. Every module that needs Keras calls :func:`keras` instead of importing it at
module level.
"""

from __future__ import annotations

import logging
import os
import warnings


def _silence() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")
    warnings.filterwarnings("ignore", module=r"tensorflow(\..*)?")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Keras reports through absl ("WARNING:absl:Compiled the loaded model, but the compiled
    # metrics have yet to be built..."): notes for Keras developers, not for our users
    logging.getLogger("absl").setLevel(logging.ERROR)


def keras():
    """Return the ``keras`` module, TensorFlow logging silenced."""
    _silence()
    import keras as _keras

    _keras.utils.disable_interactive_logging()
    return _keras


def tf():
    """Return the ``tensorflow`` module, logging silenced."""
    _silence()
    import tensorflow as _tf

    _tf.get_logger().setLevel(logging.ERROR)
    return _tf
