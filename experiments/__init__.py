"""Study configs shipped with kzmig (``*.toml``), read as package data; benchmarks live in ``bench/``."""
