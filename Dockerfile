# The ndc image of docker-compose.yaml: Airflow 3.3 with the celery provider, Cosmos, dbt and the
# ndc library, from the same pinned requirements.txt as `make install`, with the DAGs, the
# source registry, the dictionary and the dbt project built in (and dbt's manifest, which the
# transform DAG is rendered from, parsed at build time as the Makefile does).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    NDC_HOME=/opt/airflow/ndc

RUN useradd --create-home --uid 50000 --gid 0 airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/ndc /data/sources \
    && chown -R airflow:0 /opt/airflow /data

WORKDIR /opt/ndc
COPY requirements.txt pyproject.toml ./
RUN pip install -r requirements.txt

COPY . .
# The connection fields dbt parses with are the ones the transform's build runs with
# (ndc.dbt_profile): dbt then reuses this parse. The password is not part of them.
ARG NDC_WAREHOUSE_HOST=warehouse-db
ARG NDC_WAREHOUSE_PORT=5432
ARG NDC_WAREHOUSE_USER=ndc
ARG NDC_WAREHOUSE_DB=ndc_warehouse
RUN pip install --no-deps -e . \
    && python -m ndc.dbt_registry \
    && cd dbt_project \
    && NDC_WAREHOUSE_HOST=$NDC_WAREHOUSE_HOST NDC_WAREHOUSE_PORT=$NDC_WAREHOUSE_PORT \
       NDC_WAREHOUSE_USER=$NDC_WAREHOUSE_USER NDC_WAREHOUSE_DB=$NDC_WAREHOUSE_DB \
       dbt parse --profiles-dir . --profile ndc --target warehouse --quiet \
    && chown -R airflow:0 /opt/ndc/dbt_project

USER airflow
EXPOSE 8080
CMD ["airflow", "version"]
