"""Secrets never reach a log handler, even when a caller put one in a URL."""

from __future__ import annotations

import logging

from fluxsocial_mcp.redaction import RedactSecrets, redact


def test_keys_and_tokens_are_redacted_from_text() -> None:
    line = "GET /api/v1/x?api_key=fsx_live_Ab-c_9 token fsx_at_zz fsx_rt_yy fsx_test_q fsx_other"
    assert redact(line) == (
        "GET /api/v1/x?api_key=fsx_…[redacted] token fsx_…[redacted] fsx_…[redacted] fsx_…[redacted] fsx_other"
    )


def test_the_filter_rewrites_message_and_arguments(caplog) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info('%s - "GET /?key=%s HTTP/1.1" 401', "127.0.0.1:5000", "fsx_live_SECRET")
        logger.info("pasted fsx_test_SECRET2 by mistake")
    assert "SECRET" not in caplog.text
    assert caplog.text.count("fsx_…[redacted]") == 2
