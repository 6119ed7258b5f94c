"""``python -m kzmig.cli``: the command line, as the ``kzmig`` script runs it."""
from kzmig.cli import entry

entry()
