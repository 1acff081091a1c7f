"""The ``autofix`` command's entry point (also ``python -m autofix``).

Ctrl-C and SIGTERM are taken over before anything slow is imported: from here on the first
signal is a request that the command honours at its next safe point (say "interrupted",
keep only proven results, exit 130), never a traceback from the middle of an import.
"""

from autofix import interrupts

interrupts.defer_for_this_process()

from autofix.cli import main  # noqa: E402

if __name__ == "__main__":  # pragma: no cover - python -m autofix
    main()
