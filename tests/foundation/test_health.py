from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_healthz_answers_ok_when_database_and_redis_answer(client, redis_prefix):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_redis_is_down(client, settings, monkeypatch):
    from spot import redis_connection

    redis_connection.redis_client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        redis_connection.redis_client.cache_clear()
    assert response.status_code == 503
    assert "redis" in response.json()
