"""Load → validate: the user's model and data made into one repair problem.

``preparation`` (``prepare``: validate everything, build the :class:`~autofix.inputs.problem.Problem`),
``data`` and ``tables`` (files: ``.npz``, CSV/TSV, Parquet, image folders), ``datasets``
(``tf.data``, ``PyDataset``, generators: read up to the sample), ``named_arrays`` (arrays
named after a model's inputs or outputs), ``task`` (what ``y`` asks of the model),
``problem`` (the problem and its held-out rows), ``user_code`` (``--import``).
"""
