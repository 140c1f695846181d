"""Scripts that run inside the serving side environments, started as files:
.venv-seldon (seldon-core 1.17.1: launch.py, sklearn_server.py, probe.py,
reference_iris.py) and .venv-mlserver (MLServer 1.3.5: mlserver_launch.py,
v2_probe.py; reference_iris.py runs there too).

A package only so that a regular (non-editable) install of the toolkit ships
them; the toolkit never imports these modules, whose imports (seldon_core,
mlserver, joblib, sklearn) exist only in the side environments.
"""
