"""Scripts that run inside .venv-mlflow (MLflow 2.4.2), started as files:
log_model.py. A package only so that a regular install ships them; the
toolkit never imports them (mlflow exists only in the side environment)."""
