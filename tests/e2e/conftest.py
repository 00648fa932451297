"""Fixtures of the end-to-end suite: the `totemd` binary and one 4-validator + 1-observer network
of real processes per session, shared by the API and network tests (the fault test, which kills
and restarts a validator, runs last)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import totem_net  # noqa: E402

# The conformance vectors, read in place from <repo>/testdata/totem (as the Swift tests do), or from
# TOTEM_VECTORS_DIR.
VECTORS_DIR = os.environ.get("TOTEM_VECTORS_DIR",
                             os.path.join(REPO_ROOT, "testdata", "totem"))
if not os.path.isfile(os.path.join(VECTORS_DIR, "vectors.json")):
    raise RuntimeError(f"vectors.json not found in {VECTORS_DIR}: testdata/totem is part of the "
                       "repository; or set TOTEM_VECTORS_DIR")

VALIDATORS = 4
OBSERVERS = 1


def pytest_collection_modifyitems(items):
    # Tests that need the network run after the vector tests, API tests before the scenario,
    # and the fault test (which kills a validator) last; the fault campaign (its own cluster in
    # network namespaces) after all of them.
    order = {"test_vectors.py": 0, "test_api_errors.py": 1, "test_demo.py": 2, "test_network.py": 2,
             "test_catch_up.py": 2, "test_fault_campaign.py": 3}
    items.sort(key=lambda it: (order.get(os.path.basename(str(it.fspath)), 1),
                               1 if it.get_closest_marker("disruptive") else 0))


def pytest_configure(config):
    config.addinivalue_line("markers", "disruptive: kills nodes; runs after the other network tests")


@pytest.fixture(scope="session")
def totemd():
    try:
        return totem_net.find_totemd(REPO_ROOT)
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def network(totemd, tmp_path_factory):
    base = tmp_path_factory.mktemp("totem-net")

    # Every node starts with a 1 MiB LMDB map, so the session's load grows it many times while
    # admission, queries and block writes run (test_heavy_blocks.py checks it grew): a read nested
    # in another read once hung every validator at the same growth.
    def small_maps(net):
        for node in net.nodes:
            with open(os.path.join(node.home, "config.toml"), "a") as f:
                f.write("\n[store]\ninitial_map_mib = 1\n")

    with totem_net.running_network(totemd, str(base / "net"), VALIDATORS, OBSERVERS, configure=small_maps) as net:
        print(f"\n[e2e] network in {base} (p2p ports {net.p2p_base}.., api ports {net.api_base}..) "
              f"with {totemd}")
        yield net


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not hasattr(item, "funcargs"):
        return
    # The session's network, or a module's own one held by its fixture (as `.net`).
    for value in item.funcargs.values():
        net = value if isinstance(value, totem_net.Network) else getattr(value, "net", None)
        if isinstance(net, totem_net.Network):
            report.sections.append(("totemd log tails", net.logs_summary()))
            break
