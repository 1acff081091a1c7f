"""Diagnose: what is wrong with the model, the data or the training, with evidence.

``diagnose`` (the whole diagnosis: the cheap checks, then a rerun of the user's training
when the evidence calls for it; :class:`~autofix.diagnosis.diagnose.Diagnosis` holds what
it found), ``data_checks``, ``model_checks`` and ``training_checks`` (one function a
finding), ``findings`` (the finding codes, their severities and the ``Finding`` record:
light, so that ``autofix.Finding`` and ``autofix.CODES`` load no TensorFlow).
"""
