"""``harvester`` and ``python -m harvester``: signal handlers first, then the (slow) imports, then the CLI.

A SIGINT or SIGTERM that arrives while the libraries are still loading ends the command with one line
and exit 130 / 143, like one that arrives later: never a traceback from the middle of an import.
"""

from __future__ import annotations

import sys

from harvester.shutdown import Interrupted, Shutdown, exit_code


def main() -> int:
    shutdown = Shutdown()
    shutdown.install()
    try:
        from harvester import cli
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else 2
        print(f"harvester: stopped by {'SIGTERM' if signum == 15 else 'SIGINT'}", file=sys.stderr)
        shutdown.uninstall()
        return exit_code(signum)
    return cli.main(shutdown=shutdown)


if __name__ == "__main__":
    sys.exit(main())
