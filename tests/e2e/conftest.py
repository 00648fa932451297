import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# The shared conformance vectors, read in place from <repo>/../shared/testdata/totem (as the Swift
# tests do), or from TOTEM_VECTORS_DIR.
VECTORS_DIR = os.environ.get("TOTEM_VECTORS_DIR",
                             os.path.join(os.path.dirname(REPO_ROOT), "shared", "testdata", "totem"))
if not os.path.isfile(os.path.join(VECTORS_DIR, "vectors.json")):
    raise RuntimeError(f"vectors.json not found in {VECTORS_DIR}: keep ../shared next to the "
                       "repository or set TOTEM_VECTORS_DIR")
