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


# --- media-jobs API errors by HTTP status (raised by ltxkit.jobs; all carry the server's text) ---


class BadRequestError(ApiError, InputError):
    """400/422: the server rejected the request's input; like any input mistake it exits with 2."""

    exit_code = 2


class AuthError(ApiError):
    """401/403: the API key is missing, wrong, revoked or not allowed to do this."""


class PaymentRequiredError(ApiError):
    """402: the account's prepaid balance does not cover the job."""


class NotFoundError(ApiError):
    """404: no such job (or endpoint) for this key."""


class ConflictError(ApiError):
    """409: the server refused the write, e.g. an idempotency key reused with a different body."""


class RateLimitedError(ApiError):
    """429 still answered after every retry allowed."""


class ServerError(ApiError):
    """5xx still answered after every retry allowed."""


class ApiConnectionError(ApiError):
    """The server could not be reached or did not answer (network error or timeout) after every retry."""


class DownloadError(ApiError):
    """An output could not be downloaded completely; any ``.part`` file is kept so a re-run resumes it."""
