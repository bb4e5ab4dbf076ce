"""Synthetic source data (civil-registration files, social-insurance table) and ground truth."""

from ndc.synthetic.defects import DEFAULT_DEFECT_RATES
from ndc.synthetic.generator import GenerationSummary, generate

__all__ = ["DEFAULT_DEFECT_RATES", "GenerationSummary", "generate"]
