"""dbt runs as the transformer's role only when the configuration says so."""

from ndc.dbt_profile import connection_env_template, env_for_url, role_env


def test_no_role_by_default(monkeypatch):
    monkeypatch.delenv("NDC_WAREHOUSE_TRANSFORMER_ROLE", raising=False)
    assert role_env() == {}
    assert "PGOPTIONS" not in connection_env_template()
    assert "PGOPTIONS" not in env_for_url("postgresql://postgres@127.0.0.1:5432/w")


def test_the_configured_role_starts_every_dbt_session(monkeypatch):
    monkeypatch.setenv("NDC_WAREHOUSE_TRANSFORMER_ROLE", "ndc_transformer")
    assert connection_env_template()["PGOPTIONS"] == "-c role=ndc_transformer"
    assert env_for_url("postgresql://postgres@127.0.0.1:5432/w")["PGOPTIONS"] == (
        "-c role=ndc_transformer"
    )
