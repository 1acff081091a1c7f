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


def set_seed(seed: int) -> None:
    """Seed what draws a candidate's weights and dropout masks (Keras' global seed
    generator), Python's ``random`` and NumPy: ``keras.utils.set_random_seed`` without its
    ``tf.random.set_seed``.

    ``tf.random.set_seed`` clears TensorFlow's kernel caches, so every compiled training
    program ran afterwards is instantiated again: 0.2 s a program (measured here on a 2x32
    MLP), paid by every candidate built. Keras 3 draws initial weights and dropout from
    stateless ops seeded by its own generator, so TensorFlow's global seed only matters to
    Keras' own ``fit`` (its shuffle), which seeds it itself (see
    :func:`autofix.training.fit.fit`). Falls back to the Keras function where Keras' internals
    differ."""
    import random

    import numpy as np

    keras()
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # another Keras: the public function, caches cleared
        keras().utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
