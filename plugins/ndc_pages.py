"""ndc pages in the Airflow UI: the FastAPI app of ``ndc.ui`` mounted at ``/ndc`` in the
api-server, and one menu entry per page (external views under "ndc", shown in an iframe at
``/plugin/ndc-<page>``).

A mounted app gets no authentication from Airflow by itself: every route here depends on
Airflow's ``get_user`` (the JWT of the UI's ``_token`` cookie or a bearer token; without one
the request is refused with 401) and on the auth manager allowing the user the PLUGINS view.
The warehouse is read through the Airflow connection ``ndc_warehouse``."""

from __future__ import annotations

from functools import cache

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends

from ndc.ui.app import PAGES, create_app

URL_PREFIX = "/ndc"


@cache
def _warehouse_url() -> str:
    from airflow.models.connection import Connection

    from ndc.connections import postgres_url
    from ndc.settings import WAREHOUSE_CONN_ID

    return postgres_url(Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID))


@cache
def _sources() -> list[str]:
    from ndc.registry import load_registry

    return sorted(load_registry())


def _user_name(user: GetUserDep) -> str:
    return user.get_name()


app = create_app(
    _warehouse_url,
    _sources,
    user=_user_name,
    dependencies=[Depends(requires_access_view(AccessView.PLUGINS))],
)


class NdcPagesPlugin(AirflowPlugin):
    name = "ndc_pages"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "ndc pages"}]
    external_views = [
        {
            "name": title,
            "href": f"{URL_PREFIX.lstrip('/')}/{slug}",
            "url_route": f"ndc-{slug}",
            "destination": "nav",
            "category": "ndc",
        }
        for slug, title in PAGES
    ]
