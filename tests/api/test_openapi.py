"""The OpenAPI document, the docs page, and schemathesis against the running API."""

from __future__ import annotations

import io
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from exchange.api.serving import OrderFastPath
from exchange.api.signing import private_key_from_text, signed_headers
from exchange.api.urls import api
from exchange.models import Balance
from exchange.services.api_keys import IssuedKey
from tests.api.support import keeping_test_connection

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 12


def test_the_schema_is_served_and_documents_every_error(client):
    schema = client.get(SCHEMA_URL).json()

    assert schema["openapi"].startswith("3.1")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = [status for status in responses if status.startswith(("4", "5"))]
            takes_input = (
                operation.get("parameters") or operation.get("requestBody") or operation.get("security")
            )
            assert errors or not takes_input, f"{method.upper()} {path} documents no error"
            for status in errors:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut")
            if operation.get("security"):
                assert {"401", "403", "429"} <= set(responses), f"{method.upper()} {path}"


def test_the_docs_page_is_served(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert SCHEMA_URL.encode() in response.content


class SigningMiddleware:
    """Signs each request schemathesis makes, as a trader's client would."""

    def __init__(self, app: Any, key: IssuedKey) -> None:
        self.app = app
        self.key = key
        self.private = private_key_from_text(key.private_key or "")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        query = environ.get("QUERY_STRING", "")
        target = environ["PATH_INFO"] + (f"?{query}" if query else "")
        headers = signed_headers(
            self.key.api_key.key_id, self.private, environ["REQUEST_METHOD"], target, body
        )
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        with keeping_test_connection():
            return list(self.app(environ, start_response))


@pytest.fixture
def signing_app(alice_key, alice, btc_usdt, usdt, settings):
    Balance.objects.create(user=alice, asset=usdt, available=1000)
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    return SigningMiddleware(OrderFastPath(WSGIHandler()), alice_key)


# Built from the API object itself: the same document /api/v1/openapi.json serves.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema_and_never_fails(case, signing_app):
    response = case.call(app=signing_app)

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
