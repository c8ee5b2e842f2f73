"""The experiment lab: the commands that train the book's long experiments and write the results
files its chapters load. It is not part of the installed package ``deepstock_lite`` (which
holds the methods, and the loader the chapters use); run it from a clone of the repository:

    python -m lab                       # the list of experiments
    python -m lab <experiment> --help   # one experiment's options
    python -m lab budgets               # every experiment's budgets

Every experiment takes the same options for the same things: ``--budget`` (``tiny`` is a smoke
test), ``--seeds``, ``--out`` (a name in ``deepstock_lite/data/results/`` or a path),
``--write`` (a committing budget may replace the committed file), ``--force``, and, where they
apply, ``--jobs`` and ``--storage``. A run checks its options and its destination before it
trains, writes its file atomically after every finished unit, and resumes after a kill.
"""
