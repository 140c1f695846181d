"""Scripts that run inside .venv-seldon (seldon-core 1.17.1), started as files.

A package only so that a regular (non-editable) install of the toolkit ships
them; the toolkit never imports these modules, whose imports (seldon_core,
joblib, sklearn) exist only in the side environment.
"""
