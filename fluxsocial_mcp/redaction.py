"""Keeps secrets out of logs, wherever a caller may have put them (a key in a URL, say)."""

from __future__ import annotations

import logging
import re

# API keys, OAuth access and refresh tokens: all carry one of these prefixes.
SECRET = re.compile(r"fsx_(?:live|test|at|rt)_[A-Za-z0-9_\-]+")
REDACTED = "fsx_…[redacted]"


def redact(text: str) -> str:
    return SECRET.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments so no secret reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(*logger_names: str) -> None:
    for name in logger_names or ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactSecrets())
