"""MLflow as the registry of record for what exists; git for what runs where.

The toolkit talks to an MLflow tracking server over its REST API only
(shipyard.mlflow.rest): the mlflow package is hundreds of MB and lives in
its own side environment (.venv-mlflow), which the toolkit never imports.

- reference: ``models:/<name>/<version>`` and ``models:/<name>@<alias>``;
- settings: which server (--mlflow-uri, MLFLOW_TRACKING_URI, shipyard.yaml)
  and which alias each environment has;
- importer: an MLflow model version as the facts `shipyard register` writes
  into model.yaml (artifact URI a cluster can fetch, metrics, lineage);
- aliases: each environment's alias set on the model version its pins run.
"""
