"""The plugins folder loads in Airflow's plugin manager without touching a database or the
network, puts the ndc pages in the menu, and its app refuses a request without a session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from ndc.settings import REPO_ROOT

LOAD = textwrap.dedent(
    """
    import json, socket
    def refuse(*args, **kwargs):
        raise RuntimeError(f"network access while loading plugins: {args}")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    from airflow import plugins_manager
    from fastapi.testclient import TestClient
    apps, _ = plugins_manager.get_fastapi_plugins()
    views, _ = plugins_manager._get_ui_plugins()
    (app,) = [a for a in apps if a["name"] == "ndc pages"]
    client = TestClient(app["app"])
    refused = {
        path: [client.get(path).status_code, "Sign in" in client.get(path).text]
        for path in ("/reconciliation", "/quarantine", "/discrepancies/residence.csv")
    }
    print("RESULT" + json.dumps({
        "prefix": app["url_prefix"],
        "views": [[v["name"], v["href"], v["url_route"], v["category"]] for v in views],
        "refused": refused,
    }))
    """
)


def test_plugin_pages_in_the_menu_and_refused_without_a_session(tmp_path):
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["prefix"] == "/ndc"
    routes = {v[2]: v for v in out["views"]}
    for slug in ("reconciliation", "quarantine", "discrepancies", "scorecard", "logs"):
        name, href, route, category = routes[f"ndc-{slug}"]
        assert href == f"ndc/{slug}" and category == "ndc"
    # No cookie, no bearer token: Airflow's get_user refuses before any warehouse read.
    assert out["refused"] == {
        "/reconciliation": [401, True],
        "/quarantine": [401, True],
        "/discrepancies/residence.csv": [401, True],
    }
