"""`python -m trainer.cli ...`: the same as the `trainer` executable."""
from .entry import main

main()
