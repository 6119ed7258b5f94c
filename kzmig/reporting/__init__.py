"""kzmig.reporting: renders and saves results (tables, charts, workbooks, report.html).

``save(result, folder)`` writes a study's or a run's result as a run folder
(:mod:`kzmig.reporting.results`); studies return data and never import this package.
``save`` and ``write`` are imported on first use, so that ``kzmig.reporting.charts`` alone
stays a light import.
"""

__all__ = ["save", "write"]


def __getattr__(name: str):
    if name in __all__:
        from kzmig.reporting import results

        return getattr(results, name)
    raise AttributeError(f"module 'kzmig.reporting' has no attribute {name!r}")
