"""Report: what autofix found and did, for people and for programs.

``result`` (the :class:`~autofix.reporting.result.RepairResult` and the report's JSON),
``terminal`` (the rich summary and verdict line), ``html`` (the self-contained HTML page),
``script_edits`` (the repair as edits to the user's Keras code), ``progress`` (the live
display while it runs), ``writing`` (the fixed model and the reports, each file written
whole or not at all).
"""
