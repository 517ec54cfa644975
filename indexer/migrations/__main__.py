"""`python -m indexer.migrations <alembic command>`: alembic's own CLI, pointed at this package and the configured store."""

from __future__ import annotations

import sys

from alembic.config import CommandLine


def main(argv: list[str] | None = None) -> None:
    from indexer.db import alembic_config
    from indexer.settings import Settings

    cli = CommandLine(prog="python -m indexer.migrations")
    options = cli.parser.parse_args(argv if argv is not None else sys.argv[1:])
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(Settings().resolved_state_url), options)


if __name__ == "__main__":
    main()
