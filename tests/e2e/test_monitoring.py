"""Monitoring (issue 14): the alert rules, the example Prometheus config and the Grafana dashboard in
config/monitoring/, checked against promtool and against a running node.

- `promtool check rules` / `check config` on the files, and `promtool test rules` on
  alerts.test.yml: every alert fires on synthetic series where it should and not where it should
  not. promtool compares annotations word for word, so the unit tests run on a copy of alerts.yml
  without them (they are prose; `check rules` checks their templates).
- Every totem_* metric the rules and the dashboard's queries name is in a real node's /metrics,
  so the monitoring files cannot drift from the code; the dashboard's queries parse (as rules);
  docs/ops/monitoring.md's metric list names exactly the families a node exports.
- Missed commits: in a 4-validator network one validator is killed; from then on the others count
  every block they decide as missed by it (`totem_validator_missed_commits_total`) and none as
  missed by each other, and its last signed height stops.

promtool comes from Debian's `prometheus` package (scripts/test.sh installs it); without it the
test fails rather than skips.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

import totem_net
from totem_net import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
MONITORING = os.path.join(os.path.dirname(os.path.dirname(HERE)), "config", "monitoring")
ALERTS = os.path.join(MONITORING, "alerts.yml")
ALERT_TESTS = os.path.join(MONITORING, "alerts.test.yml")
PROMETHEUS_CONFIG = os.path.join(MONITORING, "prometheus.yml")
DASHBOARD = os.path.join(MONITORING, "totem-dashboard.json")
METRIC_DOC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "ops", "monitoring.md")
HEARTBEAT_MS = 300
METRIC = re.compile(r"\btotem_[a-z0-9_]+\b")


def promtool(*args: str) -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found: install Debian's `prometheus` package (scripts/test.sh does)", pytrace=False)
    res = subprocess.run([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=scaled(60), check=False)
    out = res.stdout.decode("utf-8", "replace")
    assert res.returncode == 0, f"promtool {' '.join(args)} exited with {res.returncode}:\n{out}"
    return out


def alert_rules() -> list[dict]:
    with open(ALERTS) as f:
        return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]


def dashboard_queries(variables: bool = False) -> list[str]:
    """The PromQL of every panel; with `variables`, also the template variables' Grafana queries
    (`label_values(...)`, which is not PromQL)."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = [t["expr"] for panel in dash["panels"] for t in panel.get("targets", [])]
    if variables:
        exprs += [v["definition"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_alert_rules_and_config_pass_promtool_and_their_unit_tests(tmp_path):
    promtool("check", "rules", ALERTS)
    promtool("check", "config", PROMETHEUS_CONFIG)

    rules = alert_rules()
    assert len(rules) >= 10
    for r in rules:
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        for key in ("summary", "description", "action"):
            assert r["annotations"].get(key, "").strip(), f"{r['alert']} has no {key}"

    # The logic on synthetic series, against the rules without their prose.
    with open(ALERTS) as f:
        stripped = yaml.safe_load(f)
    for group in stripped["groups"]:
        for rule in group["rules"]:
            del rule["annotations"]
    with open(tmp_path / "alerts.yml", "w") as f:
        yaml.safe_dump(stripped, f)
    shutil.copy(ALERT_TESTS, tmp_path / "alerts.test.yml")
    out = promtool("test", "rules", str(tmp_path / "alerts.test.yml"))
    assert "SUCCESS" in out, out
    # Every alert is exercised by at least one test.
    with open(ALERT_TESTS) as f:
        tested = {t["alertname"] for case in yaml.safe_load(f)["tests"] for t in case["alert_rule_test"]}
    assert {r["alert"] for r in rules} <= tested, {r["alert"] for r in rules} - tested

    # The dashboard's queries parse: promtool checks them as recording rules.
    queries = dashboard_queries()
    assert len(queries) >= 20
    as_rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": q.replace("$instance", ".*")} for i, q in enumerate(queries)]}]}
    with open(tmp_path / "dashboard-queries.yml", "w") as f:
        yaml.safe_dump(as_rules, f)
    promtool("check", "rules", str(tmp_path / "dashboard-queries.yml"))


def samples(text: str) -> dict[str, float]:
    """Each sample of a /metrics text, `name{labels}` -> value."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def per_validator(text: str, name: str) -> dict[str, float]:
    return {m.group(1): v for k, v in samples(text).items()
            if (m := re.fullmatch(name + r'\{validator="([0-9a-f]{16})"\}', k))}


def test_monitoring_names_only_exported_metrics_and_missed_commits_are_counted(totemd, tmp_path, monkeypatch):
    monkeypatch.setenv("TOTEM_E2E_TESTNET_ARGS", f"--empty-block-interval-ms {HEARTBEAT_MS} --proposal-timeout-ms 1000")
    with totem_net.running_network(totemd, str(tmp_path / "net"), validators=4, observers=0) as net:
        net.wait_height(2, timeout_s=30)
        text = net.nodes[0].client.metrics()
        exported = {k.split("{", 1)[0] for k in samples(text)}
        referenced = set()
        for rule in alert_rules():
            referenced |= set(METRIC.findall(rule["expr"]))
        for query in dashboard_queries(variables=True):
            referenced |= set(METRIC.findall(query))
        assert "totem_validator_missed_commits_total" in referenced and "totem_catchup_target_height" in referenced
        missing = sorted(referenced - exported)
        assert not missing, f"named by config/monitoring but not in /metrics: {missing}"
        # The metric list of docs/ops/monitoring.md is the exported families, no more, no less.
        families = set(re.findall(r"^# TYPE (totem_[a-z0-9_]+) ", text, re.M))
        with open(METRIC_DOC) as f:
            doc = f.read()
        documented = set(METRIC.findall(doc[doc.index("### Metrics"):]))
        assert families <= documented, f"exported but not in docs/ops/monitoring.md: {sorted(families - documented)}"
        assert documented <= families, f"in docs/ops/monitoring.md but not exported: {sorted(documented - families)}"

        # One series per validator of the set, labelled by its key's first 16 hex digits.
        labels = {n.public_key.hex()[:16] for n in net.validators}
        assert set(per_validator(text, "totem_validator_missed_commits_total")) == labels, text

        victim = net.validators[3]
        others = net.validators[:3]
        net.kill(victim)
        killed_at = max(n.client.status()["height"] for n in others)
        # Blocks above killed_at + 1 were proposed after the kill: no commit of the victim's in them.
        net.wait_height(killed_at + 2, nodes=others, timeout_s=30)
        before = {n.name: n.client.metrics() for n in others}
        net.wait_height(killed_at + 6, nodes=others, timeout_s=30)
        victim_label = victim.public_key.hex()[:16]
        for node in others:
            after = node.client.metrics()
            m0 = per_validator(before[node.name], "totem_validator_missed_commits_total")
            m1 = per_validator(after, "totem_validator_missed_commits_total")
            decided = samples(after)["totem_height"] - samples(before[node.name])["totem_height"]
            missed = {label: m1[label] - m0[label] for label in labels}
            assert missed[victim_label] >= 3 and missed[victim_label] <= decided, (node.name, missed, decided)
            assert all(v == 0 for label, v in missed.items() if label != victim_label), (node.name, missed)
            last = per_validator(after, "totem_validator_last_signed_height")
            assert last[victim_label] <= killed_at + 1, (node.name, last, killed_at)
            assert all(last[label] > killed_at + 2 for label in labels if label != victim_label), (node.name, last)
