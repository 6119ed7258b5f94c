"""kzmig: regional migration econometrics and forecasting for Kazakhstan."""

__version__ = "0.1.0"
