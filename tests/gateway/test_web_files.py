"""The web client's files as nginx serves them (gateway/web/): what index.html preloads."""

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "gateway" / "web"


def test_index_preloads_every_module_of_the_client() -> None:
    # Without a bundler, the browser finds a module's imports only once it has that module: the
    # modulepreload links fetch all of them at once. A module missing from the list still
    # works, only later (one more round trip per import level): this keeps the list whole.
    index = (WEB / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/([^"]+)">', index))
    modules = {str(path.relative_to(WEB)) for path in (WEB / "js").rglob("*.js")} - {"js/app.js"}
    assert preloaded == modules
