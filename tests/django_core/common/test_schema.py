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


def test_the_schema_describes_the_comment_activity_and_filter_additions(tmp_path):
    target = tmp_path / "openapi.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert set(paths["/api/tasks/{task_id}/comments/{comment_id}"]) >= {"patch", "delete"}
    assert "get" in paths["/api/tasks/{task_id}/activity"]
    assert "post" in paths["/api/tasks/{task_id}/move"]
    assert "get" in paths["/api/projects/{project_id}/board"]
    listed = {parameter["name"] for parameter in paths["/api/tasks"]["get"]["parameters"]}
    assert {"priority", "reporter"} <= listed
    assert "unknown_parameter" in paths["/api/tasks"]["get"]["description"]
    assert "edited" in schema["components"]["schemas"]["Comment"]["properties"]
