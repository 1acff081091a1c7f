"""A Keras model loaded, read and edited.

``loading`` (load safely; check the model is one autofix can work on), ``anatomy``
(the facts autofix reads from a model and never changes), ``surgery`` (clones with layers
changed, added or widened), ``packing`` (a model of several inputs seen as a model of one).
"""
