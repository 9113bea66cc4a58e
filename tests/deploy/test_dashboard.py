"""docs/grafana-dashboard.json and docs/operations.md name only metrics the code exports (a
renamed metric would leave an empty panel or an alert that never fires)."""

import json
import re
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b((?:taskflow|realtime)_[a-z0-9_]+)")
SUFFIXES = ("_bucket", "_count", "_sum")
PACKAGES = {"taskflow_contracts", "taskflow_bot", "realtime_relay"}


def exported_source() -> str:
    paths = [
        *(REPO_DIR / "django-core" / "common" / "observability").glob("*.py"),
        REPO_DIR / "fastapi-realtime" / "realtime_relay" / "metrics.py",
        REPO_DIR / "telegram-bot" / "taskflow_bot" / "metrics.py",
    ]
    return "\n".join(path.read_text() for path in paths)


def base_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_metric_of_the_dashboard_and_the_doc_is_exported() -> None:
    source = exported_source()
    dashboard = json.loads((REPO_DIR / "docs" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert expressions
    names = {base_name(name) for expr in expressions for name in METRIC.findall(expr)}
    names |= {
        base_name(name)
        for name in METRIC.findall((REPO_DIR / "docs" / "operations.md").read_text())
        if name not in PACKAGES
    }
    # Counters are declared without `_total` (prometheus-client adds it).
    missing = sorted(
        name for name in names if f'"{name}"' not in source and f'"{name.removesuffix("_total")}"' not in source
    )
    assert not missing, f"not exported by any process: {missing}"
