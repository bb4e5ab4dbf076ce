"""Fault points and outages (ndc.reliability.faults, .outage): a point does nothing unless
armed, fires once, and a kill is a real SIGKILL of the process that reached it; the S3 gate
refuses connections while down and forwards again once up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ndc.reliability import faults
from ndc.reliability.outage import TcpGate

REACH = "from ndc.reliability.faults import point; point('load.copy'); print('went on')"


def _reach(home) -> subprocess.CompletedProcess:
    env = os.environ | {"NDC_HOME": str(home), "AIRFLOW_CTX_TASK_ID": "load"}
    return subprocess.run(
        [sys.executable, "-c", REACH], env=env, capture_output=True, text=True, timeout=60
    )


def test_an_unarmed_point_does_nothing(tmp_path):
    proc = _reach(tmp_path)
    assert proc.returncode == 0 and "went on" in proc.stdout
    assert faults.fired(tmp_path, "load.copy") is None


def test_an_armed_kill_sigkills_the_process_that_reaches_it_once(tmp_path):
    faults.arm(tmp_path, "load.copy", "kill")
    first = _reach(tmp_path)
    assert first.returncode == -signal.SIGKILL and "went on" not in first.stdout
    record = faults.fired(tmp_path, "load.copy")
    assert record["pid"] > 0 and record["AIRFLOW_CTX_TASK_ID"] == "load"
    # The retry finds nothing armed and goes on.
    assert _reach(tmp_path).returncode == 0


def test_a_hold_goes_on_after_its_hold(tmp_path):
    faults.arm(tmp_path, "load.copy", "hold", hold_s=0.1)
    proc = _reach(tmp_path)
    assert proc.returncode == 0 and "went on" in proc.stdout
    assert faults.fired(tmp_path, "load.copy")["action"] == "hold"


def test_an_unknown_point_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no fault point 'load.cpy'"):
        faults.arm(tmp_path, "load.cpy")


def test_the_gate_refuses_while_down_and_forwards_when_up():
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gate = TcpGate(server.server_address)
    try:
        assert requests.get(gate.url, timeout=5).text == "hello"
        gate.down()
        with pytest.raises(requests.ConnectionError):
            requests.get(gate.url, timeout=5)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", gate.port), timeout=2)
        gate.up()
        assert requests.get(gate.url, timeout=5).text == "hello"
    finally:
        gate.down()
        server.shutdown()
