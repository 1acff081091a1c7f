"""Import every built-in strategy module so that each registers itself: for a source tree
that was never installed (an installed autofix declares them as entry points)."""

from autofix.strategies import (  # noqa: F401
    adjust_learning_rate,
    change_loss,
    class_weights,
    clip_gradients,
    extend_training,
    fix_label_encoding,
    fix_vanishing_gradients,
    normalize_inputs,
    rebuild,
    reduce_dropout,
    reinitialize_weights,
    rescale_targets,
    retrain,
    swap_output_activation,
    tune_training,
    unfreeze_layers,
    widen_bottleneck,
)
