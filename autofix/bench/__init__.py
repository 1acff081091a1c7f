"""``autofix bench``: the documented failure scenarios (``scenarios``), broken, repaired
and tabulated (``runs``)."""
