"""Load → validate: the user's model and data made into one repair problem.

``preparation`` (``prepare``: validate everything, build the
:class:`~autofix.inputs.problem.Problem`), ``file_kinds`` (what a file holds, from its first
bytes), ``data`` and ``tables`` (``.npz`` archives, CSV/TSV and Parquet tables),
``datasets`` (``tf.data``, ``PyDataset``, generators and image folders, read up to the
sample; which rows of a larger stream are held out), ``named_arrays`` (arrays named after a
model's inputs or outputs), ``task`` (what ``y`` asks of the model), ``problem`` (the
problem and its held-out rows), ``user_code`` (``--import``).
"""
