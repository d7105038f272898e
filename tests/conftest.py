"""Shared fixtures: every Redis test runs on the embedded fakeredis and, when
``$REDIS_URL`` is set, on that real server too.

Tests never flush a real server: they write only under the prefix of the ``ns``
fixture, which is unique per test and deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import fakeredis
import pytest
from hypothesis import HealthCheck, settings

from scalekit import backend

settings.register_profile(
    "course", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("course")

BACKENDS = ["embedded", "real"] if os.environ.get(backend.ENV_VAR) else ["embedded"]


@pytest.fixture(name="redis", params=BACKENDS)
def redis_fixture(request: pytest.FixtureRequest):
    """A redis-py client: a fresh fakeredis server, or the real server at ``$REDIS_URL``."""
    if request.param == "embedded":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    else:
        client = backend.connect(os.environ[backend.ENV_VAR])
    yield client
    client.close()


@pytest.fixture
def ns(redis) -> backend.Namespace:
    """A key prefix unique to this test on the ``redis`` fixture's server, emptied afterwards."""
    space = backend.namespace(f"test-{uuid.uuid4().hex[:12]}", redis)
    yield space
    space.clear()


@pytest.fixture
def redis_url() -> str:
    """The real server's URL; the test is skipped on the embedded backend."""
    url = os.environ.get(backend.ENV_VAR)
    if not url:
        pytest.skip("needs a real Redis server: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    return url


@pytest.fixture
def redis_cluster_url() -> str:
    """A Redis Cluster node URL; the test is skipped when REDIS_CLUSTER_URL is unset."""
    url = os.environ.get("REDIS_CLUSTER_URL")
    if not url:
        pytest.skip("needs a Redis Cluster: set REDIS_CLUSTER_URL (e.g. redis://127.0.0.1:7000/0)")
    return url
