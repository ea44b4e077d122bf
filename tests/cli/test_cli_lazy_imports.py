"""Heavy dependencies are imported only by the commands that need them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("yaml", "prometheus_client", "inotify_simple", "lightkube", "http.server")


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('HEAVY', *(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(proc.stdout.splitlines()[-1].split()[1:])


def test_import_nodeconf_imports_no_heavy_dependency() -> None:
    """The public door stays light: no YAML, Prometheus, inotify, lightkube or HTTP server."""
    assert imported_after("import nodeconf") == set()


def test_validating_a_json_document_needs_no_yaml_or_daemon_dependency(tmp_path: Path) -> None:
    """``nodeconf validate doc.json`` imports none of them either."""
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps({"globalConfig": {}}), encoding="utf-8")
    code = f"from nodeconf.cli.main import main\nassert main(['validate', {str(doc)!r}]) == 0"
    assert imported_after(code) == set()


def test_a_yaml_manifest_imports_yaml_only(tmp_path: Path) -> None:
    """A YAML manifest needs PyYAML, and nothing of the daemon."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  colocation-config: '{\"globalConfig\": {}}'\n",
        encoding="utf-8",
    )
    code = f"from nodeconf.cli.main import main\nassert main(['validate', {str(manifest)!r}]) == 0"
    assert imported_after(code) == {"yaml"}
