"""The layers of the package: the live side never imports the offline pipeline or TensorFlow."""

import ast
import subprocess
import sys

import pytest

from helpers import ROOT

PACKAGE = ROOT / "jazzd"
FORBIDDEN = {
    "core": ("jazzd.live", "jazzd.pipeline", "jazzd.cli", "jazzd.config", "tensorflow", "keras"),
    "live": ("jazzd.pipeline", "tensorflow", "keras"),
}


def imports_of(path):
    """Every module name a file imports (at any depth, lazy imports included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_no_module_of_the_layers_it_must_not_know(layer):
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):  # sub-packages too (core/band)
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not found, found
    assert list((PACKAGE / layer).glob("*.py")), "no modules found: the layout moved"


def test_running_the_daemon_loads_no_pipeline_module_and_no_tensorflow():
    """Importing everything `jazzd run` uses, and building a session, loads neither (checked in a fresh interpreter)."""
    code = (
        "import sys\n"
        "import jazzd.cli, jazzd.live.daemon, jazzd.live.session, jazzd.live.ports\n"
        "from jazzd.config import defaults\n"
        "from jazzd.core.modeldir import load_model\n"
        "from jazzd.live.clock import TempoClock\n"
        "from jazzd.live.scheduler import Scheduler\n"
        "from jazzd.live.session import build_session\n"
        f"model = load_model({str(ROOT / 'models' / 'default')!r})\n"
        "clock = TempoClock(120)\n"
        "session, _ = build_session(defaults(), model, clock, Scheduler(clock), 1)\n"
        "session.start(0.0); session.advance(1.0)\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('jazzd.pipeline', 'tensorflow', 'keras')))\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded: {result.stdout}"
