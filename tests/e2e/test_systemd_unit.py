"""config/totemd.service, the unit the runbook installs (docs/operations.md, "Deploy"), checked by
systemd's own tools offline (no running systemd is needed, Debian's `systemd` package provides
them): `systemd-analyze verify` finds nothing wrong with it, its ExecStart pointed at this build's
totemd; `systemd-analyze security --offline=true` rates its sandbox's exposure at most 2.0 (1.7
when written: no new privileges, a read-only system, a private /tmp, no capabilities, ...)."""

import os
import re
import subprocess


def unit_for(totemd: str, tmp_path) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "config", "totemd.service")) as f:
        text = f.read()
    assert "ExecStart=/usr/local/bin/totemd start" in text, "the unit's ExecStart moved: update this test"
    path = tmp_path / "totemd.service"
    path.write_text(text.replace("/usr/local/bin/totemd", os.path.abspath(totemd)))
    return str(path)


def test_the_unit_verifies(totemd, tmp_path):
    res = subprocess.run(["systemd-analyze", "verify", unit_for(totemd, tmp_path)],
                         capture_output=True, text=True, timeout=60)
    said = (res.stdout + res.stderr).strip()
    assert res.returncode == 0 and said == "", said


def test_the_units_sandbox_is_rated_ok(totemd, tmp_path):
    res = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit_for(totemd, tmp_path)],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for totemd\.service: (\d+\.\d+)", res.stdout)
    assert m, res.stdout[-2000:] + res.stderr
    assert float(m.group(1)) <= 2.0, res.stdout[-3000:]
