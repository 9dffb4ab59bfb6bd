"""The prediction service: thin FastAPI routes over the same core functions the pages use."""
