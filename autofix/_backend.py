"""Keras and TensorFlow for the modules below the front doors, imported once and quietly.

The front doors (``autofix``, the CLI) load without them, so that ``autofix --help`` and a
bad file name answer at once; every module that trains, reads or edits a model imports
them at its top from here: ``from autofix._backend import keras, tf``.
"""

import logging
import random

import numpy as np

from autofix._quiet import silence

silence()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

keras.utils.disable_interactive_logging()
tf.get_logger().setLevel(logging.ERROR)

try:  # Keras' global seed generator, set without clearing TensorFlow's caches (set_seed)
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
except ImportError:  # another Keras: set_seed falls back to the public function
    global_state = None


def set_seed(seed: int) -> None:
    """Seed what draws a candidate's weights and dropout masks (Keras' global seed
    generator), Python's ``random`` and NumPy: ``keras.utils.set_random_seed`` without its
    ``tf.random.set_seed``.

    ``tf.random.set_seed`` clears TensorFlow's kernel caches, so every compiled training
    program ran afterwards is instantiated again: 0.2 s a program (measured here on a 2x32
    MLP), paid by every candidate built. Keras 3 draws initial weights and dropout from
    stateless ops seeded by its own generator, so TensorFlow's global seed only matters to
    Keras' own ``fit`` (its shuffle), which seeds it itself (see
    :func:`autofix.training.fit.fit`). Falls back to the Keras function where Keras'
    internals differ."""
    if global_state is None:
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
