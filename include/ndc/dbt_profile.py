"""The one dbt profile of ndc: ``dbt_project/profiles.yml``, target ``warehouse``.

Its connection fields read ``NDC_WAREHOUSE_HOST/PORT/USER/PASSWORD/DB`` (nothing secret in the
repository). The same file, profile and target serve ``make``'s ``dbt parse`` (which writes the
manifest Cosmos renders and the ``partial_parse.msgpack`` the build starts from), a plain
``dbt build`` by hand, and Cosmos in the transform DAG, where the variables come from the
Airflow connection ``ndc_warehouse`` at run time. dbt reuses a partial parse only when the
profile name, target and connection fields (host, port, user, database, schema) are the ones
it was parsed with, so every caller must go through here.

``python -m ndc.dbt_profile`` prints the variables for the configured warehouse
(``eval "$(python -m ndc.dbt_profile)"``), as the Airflow connection of ``ndc airflow up`` has it.
"""

from __future__ import annotations

from ndc.settings import DBT_PROJECT_DIR, WAREHOUSE_CONN_ID

PROFILES_YML = DBT_PROJECT_DIR / "profiles.yml"
PROFILE_NAME = "ndc"
TARGET_NAME = "warehouse"
ENV_FIELDS = {  # variable -> Airflow connection attribute
    "NDC_WAREHOUSE_HOST": "host",
    "NDC_WAREHOUSE_PORT": "port",
    "NDC_WAREHOUSE_USER": "login",
    "NDC_WAREHOUSE_PASSWORD": "password",
    "NDC_WAREHOUSE_DB": "schema",
}


def role_env(role: str | None = None) -> dict[str, str]:
    """The variable that starts each of dbt's sessions as the transformer's role
    (NDC_WAREHOUSE_TRANSFORMER_ROLE, README.md "Protection"), or nothing when none is set.
    libpq's PGOPTIONS sets it when the session starts; the profile's own `role` would not do:
    dbt-postgres runs its SET ROLE inside a transaction that dbt may roll back."""
    if role is None:
        from ndc import settings

        role = settings.load().transformer_role
    return {"PGOPTIONS": f"-c role={role}"} if role else {}


def profile_config():
    """Cosmos's view of the profile: the committed file, used as it is."""
    from cosmos import ProfileConfig

    return ProfileConfig(
        profile_name=PROFILE_NAME, target_name=TARGET_NAME, profiles_yml_filepath=PROFILES_YML
    )


def connection_env_template(conn_id: str = WAREHOUSE_CONN_ID) -> dict[str, str]:
    """The profile's variables as Airflow templates of a connection, rendered when the task runs
    (so DAG parsing reads no connection; Airflow masks the password in rendered fields)."""
    env = {var: f"{{{{ conn.{conn_id}.{attr} }}}}" for var, attr in ENV_FIELDS.items()}
    return env | role_env()


def env_for_url(url: str) -> dict[str, str]:
    """The profile's variables for a warehouse URL, as ``ndc.settings.postgres_connection_json``
    turns the URL into the Airflow connection (same defaults, so the same parse state)."""
    import json

    from ndc.settings import postgres_connection_json

    conn = json.loads(postgres_connection_json(url))
    return {var: str(conn[attr]) for var, attr in ENV_FIELDS.items()} | role_env()


def main() -> None:
    import shlex

    from ndc import settings

    for key, value in env_for_url(settings.load().warehouse_url).items():
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
