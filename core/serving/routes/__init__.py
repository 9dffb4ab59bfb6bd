"""The service's routes, one router per area; :mod:`core.serving.app` includes them."""
