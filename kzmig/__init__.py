"""kzmig: regional migration econometrics and forecasting for Kazakhstan."""
import logging

__version__ = "0.2.0"

# a library emits log records and leaves their display to the application (the kzmig command
# line sets handlers); without this, Python's last-resort handler would print warnings
logging.getLogger(__name__).addHandler(logging.NullHandler())
