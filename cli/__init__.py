"""The `trainer` command line (Typer): parses arguments, calls the engine, and maps typed
errors to messages and exit codes. Knows nothing of how training works."""
