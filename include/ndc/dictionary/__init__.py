"""The shared data dictionary (`include/dictionary/`, the single source of truth) and what is
generated from it.

- :mod:`ndc.dictionary.model`: the elements, code lists and reason codes as plain values;
- :mod:`ndc.dictionary.measures`: the quality measures of the six-property scorecard;
- :mod:`ndc.dictionary.checks`: the dbt docs and accepted_values tests that drift from it;
- :mod:`ndc.dictionary.seeds`: the dbt seeds generated from it (`ndc dictionary seeds`);
- :mod:`ndc.dictionary.generated`: the big code lists built from package data
  (`ndc dictionary build`);
- :mod:`ndc.dictionary.publish`: the dictionary for agencies (`ndc dictionary export`).
"""
