"""One error hierarchy for the whole toolkit; the CLI maps ``exit_code`` to the process status."""

from __future__ import annotations


class LtxkitError(Exception):
    """Base of every error ltxkit raises on purpose. Runtime failures exit with 1."""

    exit_code = 1


class InputError(LtxkitError, ValueError):
    """The user's input is wrong (bad file, bad number, bad field): exit 2, nothing written."""

    exit_code = 2


class MediaError(LtxkitError):
    """A media file could not be decoded, encoded or understood at run time."""


class ApiError(LtxkitError):
    """The media-jobs API answered with an error, or could not be reached.

    Carries the server's ``error``/``details`` text (never the request headers, so never the key).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        details: object | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.details = details


class JobFailedError(ApiError):
    """A job reached a terminal failed state on the server."""


class JobTimeoutError(ApiError):
    """A job did not finish within the caller's total wait limit."""
