-- The MLflow tracking server keeps its own database beside ModelOps' store.
CREATE DATABASE mlflow OWNER modelops;
