"""Running ``pytest --deployer`` in a pytest of its own, and what a run left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

from harness.engine.client import connect
from harness.engine.labels import RUN

REPO = Path(__file__).resolve().parents[2]
TEST_DEPLOYERS = REPO / "tests" / "deployers"


def harness_pytest(*args: str) -> subprocess.Popen[str]:
    """pytest on the test deployers; ``-m converge`` unless ``-m`` is given (the plugin's mechanics need one)."""
    select = () if "-m" in args else ("-m", "converge")
    command = [sys.executable, "-m", "pytest", "--deployers-dir", str(TEST_DEPLOYERS), "-p", "no:cacheprovider"]
    command += [*select, *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_default_stop_signals,
    )


def _default_stop_signals() -> None:
    """A run started under nohup (or by a runner that ignores SIGHUP) would inherit that, and rightly keep it: the
    runs here start as a terminal's would."""
    for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)


def run(*args: str) -> tuple[int, str]:
    process = harness_pytest(*args)
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


def junit_cases(report: Path) -> dict[str, dict[str, list[str]]]:
    """Deployer (the folder of its harness.yaml) -> JUnit property name -> values, and "outcome"."""
    cases: dict[str, dict[str, list[str]]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        properties: dict[str, list[str]] = {"outcome": ["failed" if case.find("failure") is not None else "passed"]}
        for prop in case.iter("property"):
            properties.setdefault(prop.get("name", ""), []).append(prop.get("value", ""))
        cases[Path(case.get("file", "")).parent.name] = properties
    return cases


class Suite(NamedTuple):
    """One pytest run of the harness over some deployers, with JUnit XML: what the suites' tests read."""

    code: int
    output: str
    cases: dict[str, dict[str, list[str]]]  # deployer -> JUnit property -> values (and "outcome")
    run: str
    junit: str


def run_suite(report: Path, marker: str, deployers: list[str], *args: str) -> Suite:
    """The deployers' items of one scenario, on two workers (properties must reach JUnit through xdist)."""
    selection = [f"--deployer={name}" for name in deployers]
    code, output = run(*args, *selection, "-m", marker, "-n", "2", f"--junitxml={report}")
    assert report.exists(), output
    return Suite(code, output, junit_cases(report), run_id(output), report.read_text())


def run_id(output: str) -> str:
    match = re.search(r"deployer-harness: .*; run (\w+)", output)
    assert match, output
    return match.group(1)


def leftovers(run: str) -> list[str]:
    client = connect()
    flt = {"label": f"{RUN}={run}"}
    return (
        [c.name for c in client.containers.list(all=True, filters=flt, ignore_removed=True)]
        + [n.name for n in client.networks.list(filters=flt)]
        + [v.name for v in client.volumes.list(filters=flt)]
        + [i.tags[0] if i.tags else i.short_id for i in client.images.list(filters=flt)]
    )
