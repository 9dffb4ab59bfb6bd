"""Typed exceptions raised by the core library.

Every message is meant to be shown to a user as-is: it names what is wrong and,
where there is one, what to do about it.
"""


class ModelOpsError(Exception):
    """Base class of every error the core library raises on purpose."""


class RegistryUnavailableError(ModelOpsError):
    """The MLflow tracking/registry server cannot be reached or answered with an error."""


class ModelNotFoundError(ModelOpsError):
    """No registered model has the requested name."""


class VersionNotFoundError(ModelOpsError):
    """The registered model has no such version."""


class AliasNotFoundError(ModelOpsError):
    """The registered model has no version carrying the requested alias."""


class NoEarlierChampionError(ModelOpsError):
    """A rollback was asked for but no earlier champion is recorded."""


class InvalidInputError(ModelOpsError):
    """An argument is malformed (empty name, negative version, unknown alias, ...)."""


class UntrustedModelError(ModelOpsError):
    """A stored model is not in a format we load safely (no pickle) or holds untrusted types."""


class RequestNotFoundError(ModelOpsError):
    """No served request has the given id (feedback for an unknown request)."""


class ExportError(ModelOpsError):
    """A TFLite conversion or its measurement failed; nothing was registered."""


class UnauthorizedError(ModelOpsError):
    """A mutating route was called without the service's bearer token."""


class ServiceUnavailableError(ModelOpsError):
    """The model exists but no version of it is loaded."""


class NotServedError(ModelOpsError):
    """The model has no loaded champion to learn from."""


class ModelFailedError(ModelOpsError):
    """The model raised while predicting: the request is logged as failed and answered 500."""


class ServiceUnreachableError(ModelOpsError):
    """The prediction service did not answer (not started, wrong URL, or failing)."""
