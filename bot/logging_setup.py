"""Logging at the CLI entry: readable lines on stderr, or one JSON object per line with REGWATCH_LOG_JSON=true."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d %(threadName)s"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    # Names log shippers (Loki, CloudWatch, Elastic) pick up without mapping; exc_info becomes an "exc_info" field.
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "threadName": "thread"},
        json_ensure_ascii=False,
    )


def setup_logging(settings: Settings | None, *, verbose: bool = False) -> None:
    """Configure the root logger once per process (a no-op when something, e.g. pytest, configured it already).

    Level: REGWATCH_LOG_LEVEL when it is set, else INFO with --verbose and WARNING without.
    """
    explicit = settings is not None and "log_level" in settings.model_fields_set
    level = settings.log_level.upper() if explicit and settings else ("INFO" if verbose else "WARNING")
    handler = logging.StreamHandler(sys.stderr)
    use_json = bool(settings and settings.log_json)
    handler.setFormatter(json_formatter() if use_json else logging.Formatter(TEXT_FORMAT if verbose else "%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if settings is not None:
        from bot.slack.security import install_log_masking

        install_log_masking(settings)  # tokens and the passwords of configured URLs never reach a log line
