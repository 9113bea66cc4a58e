import yaml
from django.core.management import call_command


def test_openapi_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (unresolvable serializer, operationId
    # collision, unknown auth class, ...) into an error.
    target = tmp_path / "openapi.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/tasks" in schema["paths"]
    # Each path is documented once, without the trailing-slash twin the router also accepts.
    assert "/api/tasks/" not in schema["paths"]
    assert "jwtAuth" in schema["components"]["securitySchemes"]
