"""The one error hierarchy of FluxSocial.

Every failure the core can report is a ``FluxError``. Each class knows its HTTP
status and the extras its body carries, so the REST edge and the MCP edge render
the same error from the same object::

    FluxError                      500  internal error (message never carries internals)
    ├── BadRequest                 400  a parameter is missing, malformed or out of range
    ├── Unauthorized               401  missing, unknown, revoked or expired credentials
    ├── InsufficientCredits        402  + currentBalance
    ├── Forbidden                  403
    │   └── MissingScope           403  names the scope the key lacks
    ├── NotFound                   404  absent, or owned by someone else
    ├── MethodNotAllowed           405
    ├── MediaTimeout               408  media download timed out
    ├── MediaTooLarge              413
    ├── UnsupportedMedia           415
    ├── RateLimited                429  + retryAfter (seconds)
    └── ServiceUnavailable         503  an external AI model or platform API is down
"""

from __future__ import annotations

from typing import Any


class FluxError(Exception):
    status: int = 500
    default_message = "Internal server error"
    # The caller's rate-limit budget when the error arose after the request was
    # counted, so error responses carry the X-RateLimit-* headers too.
    rate_limit: Any = None

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def extras(self) -> dict[str, Any]:
        """Fields that join ``message`` and ``status`` inside the error body."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the REST rendering of this error carries."""
        return {}

    def to_body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "status": self.status, **self.extras()}}


class BadRequest(FluxError):
    status = 400
    default_message = "Bad request"


class Unauthorized(FluxError):
    status = 401
    default_message = "Missing or invalid API key"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="fluxsocial"'}


class InsufficientCredits(FluxError):
    status = 402

    def __init__(self, current_balance: int, required: int) -> None:
        self.current_balance = current_balance
        self.required = required
        super().__init__(
            f"Insufficient credits: this operation costs {required} credits, "
            f"your balance is {current_balance}"
        )

    def extras(self) -> dict[str, Any]:
        return {"currentBalance": self.current_balance}


class Forbidden(FluxError):
    status = 403
    default_message = "Forbidden"


class MissingScope(Forbidden):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(f"This API key lacks the required scope: {scope}")


class NotFound(FluxError):
    status = 404
    default_message = "Not found"


class MethodNotAllowed(FluxError):
    status = 405
    default_message = "Method not allowed"


class MediaTimeout(FluxError):
    status = 408
    default_message = "Media download timed out"


class MediaTooLarge(FluxError):
    status = 413
    default_message = "Media exceeds the size limit"


class UnsupportedMedia(FluxError):
    status = 415
    default_message = "Unsupported media type"


class RateLimited(FluxError):
    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message or f"Rate limit exceeded. Try again in {self.retry_after} seconds")

    def extras(self) -> dict[str, Any]:
        return {"retryAfter": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(FluxError):
    status = 503
    default_message = "An external service is temporarily unavailable"
