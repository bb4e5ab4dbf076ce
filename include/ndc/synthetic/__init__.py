"""A synthetic country: ground-truth population, five source systems with defects, and truth."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_DEFECT_RATES", "GenerationSummary", "generate"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m ndc.synthetic.education_api` does not import the generator.
    if name == "DEFAULT_DEFECT_RATES":
        from ndc.synthetic.defects import DEFAULT_DEFECT_RATES

        return DEFAULT_DEFECT_RATES
    if name in ("GenerationSummary", "generate"):
        from ndc.synthetic import generator

        return getattr(generator, name)
    raise AttributeError(name)
