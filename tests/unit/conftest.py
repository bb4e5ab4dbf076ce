"""The synthetic countries the tests of ndc.synthetic read, each generated once a session."""

from __future__ import annotations

import pytest

from ndc.synthetic import GenerationSummary, generate


@pytest.fixture(scope="session")
def country42(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """One default-sized run (1000 persons, seed 42, 3 following days)."""
    return generate(tmp_path_factory.mktemp("synth_a"), persons=1000, seed=42, days=3)


@pytest.fixture(scope="session")
def country42_again(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """The same arguments into another directory."""
    return generate(tmp_path_factory.mktemp("synth_b"), persons=1000, seed=42, days=3)


@pytest.fixture(scope="session")
def country11(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("country_a"), persons=1000, seed=11, days=3)


@pytest.fixture(scope="session")
def country11_again(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("country_b"), persons=1000, seed=11, days=3)


@pytest.fixture(scope="session")
def country11_longer(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """country11 with one more day."""
    return generate(tmp_path_factory.mktemp("country_c"), persons=1000, seed=11, days=4)


@pytest.fixture(scope="session")
def big_country(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """5,000 persons over five days: enough rows to check defect rates."""
    return generate(tmp_path_factory.mktemp("country_big"), persons=5000, seed=3, days=5)
