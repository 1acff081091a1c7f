"""Quiet TensorFlow and Keras before anything imports them.

``import tensorflow`` costs seconds and prints log lines; the CLI must answer ``--help``
without it. ``autofix/__init__`` calls :func:`silence` first thing; the modules that need
Keras import it from :mod:`autofix._backend`, which the front doors load only when a
model is at hand.
"""

from __future__ import annotations

import logging
import os
import warnings


def silence() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")
    warnings.filterwarnings("ignore", module=r"tensorflow(\..*)?")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Keras reports through absl ("WARNING:absl:Compiled the loaded model, but the compiled
    # metrics have yet to be built..."): notes for Keras developers, not for our users
    logging.getLogger("absl").setLevel(logging.ERROR)
