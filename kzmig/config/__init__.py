"""One validated config schema family for every kzmig study (pydantic v2)."""
