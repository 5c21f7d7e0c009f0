"""The `trainer` executable's first code: stop signals are caught before anything heavy is
imported (a SIGTERM during start-up then ends with exit 75, never a traceback or 143), then the
commands run."""
from trainer.engine import signals


def main() -> None:
    signals.install()
    from .main import main as run_commands
    try:
        run_commands()
    finally:
        signals.ignore_from_now()
