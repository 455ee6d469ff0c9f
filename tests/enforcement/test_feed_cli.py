"""``suijian feed …`` against ``suijian datacenter serve`` (a real subprocess), and
``suijian bench feed`` at a small size."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from enforcement import feed
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.devservices import free_port
from enforcement.settings import ENV_OVERRIDES

SUIJIAN = [sys.executable, "-c", "from enforcement.cli import main; main(prog_name='suijian')"]
SECRET = "cli-feed-secret"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_feed_commands_against_the_reference_receiver(tmp_path: Path, clean_env: None) -> None:
    port = free_port()
    database = tmp_path / "suijian.sqlite"
    ini = tmp_path / "test.ini"
    ini.write_text(
        "[app:main]\nuse = egg:suijian\n"
        f"sqlalchemy.url = sqlite:///{database}\n"
        f"data_center.url = http://127.0.0.1:{port}/records\n"
        f"suijian.feed.secret = {SECRET}\n"
        "suijian.feed.max_attempts = 2\n"
        "suijian.feed.backoff_seconds = 0.01\n"
        "suijian.feed.backoff_cap_seconds = 0.01\n",
        encoding="utf-8",
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["-c", str(ini), *args])
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        for n in range(5):
            feed.publish(session, "penalty", f"penalty:{n}", {"decision_no": f"罚〔2026〕{n}号"})
        session.commit()
    engine.dispose()
    assert json.loads(run("feed", "status", "--json"))["pending"] == 5

    # The receiver is not running: two failed deliveries dead-letter everything.
    assert "retrying 5" in run("feed", "deliver")
    time.sleep(0.1)  # past the (tiny) back-off
    assert "dead 5" in run("feed", "deliver")
    dead = json.loads(run("feed", "dead-letters", "--json"))["dead_letters"]
    assert [row["record_key"] for row in dead] == [f"penalty:{n}" for n in range(5)]
    assert all("ConnectError" in row["last_error"] for row in dead)
    assert "payload" not in dead[0]
    assert "decision_no" in run("feed", "dead-letters", "--json", "--payload")
    assert "re-queued 1 record" in run("feed", "requeue", str(dead[0]["id"]))
    assert "re-queued 4 records" in run("feed", "requeue", "--all")
    assert "--all" in run("feed", "requeue", code=2)
    assert json.loads(run("feed", "status", "--json"))["dead"] == 0

    receiver_db = tmp_path / "datacenter.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
    env["DATA_CENTER_SECRET"] = SECRET  # the serve command reads the secret from here
    server = subprocess.Popen(
        [*SUIJIAN, "datacenter", "serve", "--port", str(port), "--db", str(receiver_db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health")
        assert json.loads(run("feed", "deliver", "--json"))["delivered"] == 5
        status = json.loads(run("feed", "status", "--json"))
        assert (status["delivered"], status["pending"], status["dead"]) == (5, 0, 0)
        assert json.loads(run("feed", "reconcile", "--json"))["equal"] is True

        with sqlite3.connect(receiver_db) as conn:
            conn.execute("DELETE FROM records WHERE record_key = 'penalty:2'")
        report = run("feed", "reconcile", "--resend-missing", code=1)
        assert "DIFFERENT" in report and "penalty:penalty:2:1" in report
        assert "queued 1 record(s) again" in report
        assert json.loads(run("feed", "deliver", "--json"))["delivered"] == 1
        assert "equal" in run("feed", "reconcile")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output = server.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0].decode()
    assert f"receiver on http://127.0.0.1:{port}/records" in output


def test_the_receiver_needs_a_secret(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_CENTER_SECRET", raising=False)
    result = CliRunner().invoke(main, ["datacenter", "serve", "--port", str(free_port())])
    assert result.exit_code == 2 and "--secret" in result.output


def test_bench_feed_counts_every_record(clean_env: None) -> None:
    result = CliRunner().invoke(
        main, ["bench", "feed", "--records", "1200", "--batch", "250", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["records"] == 1200 and figures["batches"] == 5
    assert (figures["lost"], figures["duplicates"], figures["undelivered"]) == (0, 0, 0)
    assert figures["records_per_s"] > 0 and figures["database"] == "sqlite"
