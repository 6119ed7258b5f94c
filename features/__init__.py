"""kzmig.features: the data contract, ingestion, feature builders and the assessment.

``BUILDER_NAMES`` (the registered feature builders, :mod:`kzmig.features.builders.registry`) is read on
first access, so that importing a submodule does not import every builder.
"""


def __getattr__(name: str):
    if name in ("BUILDER_NAMES", "BUILDERS"):
        from kzmig.features.builders import registry
        return getattr(registry, name)
    raise AttributeError(f"module 'kzmig.features' has no attribute {name!r}")
