"""ndc pages in the Airflow UI: the FastAPI app of ``ndc.ui`` mounted at ``/ndc`` in the
api-server, and one menu entry per page (external views under "ndc", shown in an iframe at
``/plugin/ndc-<page>``).

A mounted app gets no authentication from Airflow by itself: every route here depends on
Airflow's ``get_user`` (the JWT of the UI's ``_token`` cookie or a bearer token; without one
the request is refused with 401) and on the auth manager allowing the user the PLUGINS view.
The warehouse is read through the Airflow connection ``ndc_warehouse``.

Who sees person rows: the quarantine browser (a rejected row's values and the raw row as the
agency sent it), the discrepancy lists and their CSV, and the logs (personal IDs looked up)
show personal data; they are open only to a user the auth manager lets read the
``ndc_warehouse`` connection (with Airflow's simple auth manager: the Op and Admin roles; with
FAB: whoever holds the connection permissions). Such a user holds the warehouse's credentials
and could read these rows there anyway. Everyone else allowed the plugin pages (Viewer, User)
sees the aggregates: the reconciliation, a batch's files, the discrepancy counts and the
scorecard, and is refused (403, saying why) the rest. Refused rather than masked: a masked
quarantined row no longer shows what was wrong with it, so it helps nobody fix it."""

from __future__ import annotations

from functools import cache

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import (
    AccessView,
    ConnectionDetails,
)
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, HTTPException

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


def _may_see_person_rows(user: GetUserDep) -> None:
    """Refuse (403) a user the auth manager does not let read the warehouse connection."""
    from ndc.settings import WAREHOUSE_CONN_ID

    allowed = get_auth_manager().is_authorized_connection(
        method="GET", details=ConnectionDetails(conn_id=WAREHOUSE_CONN_ID), user=user
    )
    if not allowed:
        raise HTTPException(
            403,
            f"{user.get_name()}: this page shows personal data (person rows), open to users "
            f"who may read the {WAREHOUSE_CONN_ID} connection (Airflow's Op and Admin roles). "
            "The reconciliation, the discrepancy counts and the scorecard are open to you.",
        )


app = create_app(
    _warehouse_url,
    _sources,
    user=_user_name,
    dependencies=[Depends(requires_access_view(AccessView.PLUGINS))],
    person_rows=_may_see_person_rows,
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
