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
