"""The embedded stack: real PostgreSQL, Redis and S3 from a home directory, persisted."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis
from arq.connections import RedisSettings, create_pool

from hotline.platform.devstack import EmbeddedStack

BUCKET = "devstack-test"
BODY = "举报：路灯不亮".encode()


def _database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _check_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT 'ab中文'::text ~ '中'")
        encoding, ctype = await conn.fetchrow(
            "SELECT pg_encoding_to_char(encoding), datctype FROM pg_database"
            " WHERE datname = current_database()"
        )
        assert encoding == "UTF8"
        assert ctype.replace("-", "").lower().endswith(".utf8")
        # The reason for the UTF-8 locale: in the C locale trigrams of CJK text are empty.
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert await conn.fetchval("SELECT similarity('历下区路灯不亮', '历下区路灯')") > 0.5
    finally:
        await conn.close()


async def _enqueue(url: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(url))
    try:
        job = await pool.enqueue_job("devstack_probe", 1)
        assert job is not None
        assert await pool.zcard("arq:queue") == 1
    finally:
        await pool.aclose()


def test_stack_serves_real_services_and_keeps_s3_objects(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stack = EmbeddedStack(home=home, need_postgres=True, need_redis=True, need_s3=True)
    with stack:
        env = stack.env()
        db_url = env["HOTLINE_DATABASE_URL"]
        assert db_url.startswith("postgres://postgres@/hotline?host=/")
        asyncio.run(_check_postgres(_database(db_url, "postgres")))

        redis_url = env["HOTLINE_REDIS_URL"]
        assert redis_url.startswith("unix:///")
        assert redis_url.endswith("redis.sock?db=0")
        with redis.Redis.from_url(redis_url) as client:
            assert client.ping()
        asyncio.run(_enqueue(redis_url))

        assert stack.s3 is not None
        assert env["HOTLINE_S3_ENDPOINT"].startswith("http://127.0.0.1:")
        s3 = stack.s3.client()
        s3.make_bucket(BUCKET)
        s3.put_object(
            BUCKET,
            "city/370100/evidence.txt",
            io.BytesIO(BODY),
            len(BODY),
            content_type="text/plain; charset=utf-8",
            metadata={"ticket": "370100-1"},
        )

        stack.apply()
        assert os.environ["HOTLINE_S3_ENDPOINT"] == env["HOTLINE_S3_ENDPOINT"]
    assert os.environ.get("HOTLINE_S3_ENDPOINT") != env["HOTLINE_S3_ENDPOINT"]

    with EmbeddedStack(home=home, need_postgres=False, need_redis=True, need_s3=True) as again:
        assert again.s3 is not None
        s3 = again.s3.client()
        response = s3.get_object(BUCKET, "city/370100/evidence.txt")
        try:
            assert response.read() == BODY
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.headers["x-amz-meta-ticket"] == "370100-1"
        finally:
            response.close()
            response.release_conn()
        # Redis kept its dump too.
        with redis.Redis.from_url(again.env()["HOTLINE_REDIS_URL"]) as client:
            assert client.zcard("arq:queue") == 1


def test_home_too_long_for_unix_sockets(tmp_path: Path) -> None:
    home = tmp_path / ("deep-" * 20)  # its pg/.s.PGSQL.5432 is past the socket path limit
    with EmbeddedStack(home=home, need_postgres=True, need_redis=True, need_s3=False) as stack:
        env = stack.env()
        socket_dir = urlsplit(env["HOTLINE_DATABASE_URL"]).query.removeprefix("host=")
        assert len(socket_dir) < 80
        asyncio.run(_check_postgres(_database(env["HOTLINE_DATABASE_URL"], "postgres")))
        with redis.Redis.from_url(env["HOTLINE_REDIS_URL"]) as client:
            assert client.ping()
    assert (home / "pg" / "PG_VERSION").exists()


def test_one_stack_per_home(tmp_path: Path) -> None:
    with EmbeddedStack(home=tmp_path, need_postgres=False, need_redis=False, need_s3=False):
        second = EmbeddedStack(home=tmp_path, need_postgres=False, need_redis=False, need_s3=False)
        with pytest.raises(RuntimeError, match="another embedded stack"):
            second.start()


def test_configured_services_are_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    external = {
        "HOTLINE_DATABASE_URL": "postgres://hotline@db.internal:5432/hotline",
        "HOTLINE_REDIS_URL": "redis://cache.internal:6379/0",
        "HOTLINE_S3_ENDPOINT": "http://minio.internal:9000",
    }
    for key, value in external.items():
        monkeypatch.setenv(key, value)
    with EmbeddedStack(home=tmp_path) as stack:
        assert (stack.postgres, stack.redis, stack.s3) == (None, None, None)
        assert stack.env() == external
    assert not (tmp_path / "pg").exists()
