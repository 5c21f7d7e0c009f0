"""The training engine: config -> components -> loop -> callbacks -> run directory.

Nothing in here prints to the terminal or exits the process; the CLI (`trainer.cli`) turns
results and typed errors into messages and exit codes.
"""
