"""``hotline token --user NAME --tenant CITY``: run as the real command against the
module's database and Redis, it issues a token only for a city the user may work in
(a membership there, or administering its province) and issues nothing otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import RefreshToken, User
from hotline.tenants.kernel.access import Actor
from tests.world import World

HOTLINE = Path(sys.executable).with_name("hotline")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOTLINE), "token", *args], capture_output=True, text=True, timeout=120, check=False
    )


async def username(actor: Actor) -> str:
    with use_scope(Scope.platform()):
        return str((await User.get(id=actor.user_id)).username)


async def sessions_of(name: str) -> int:
    """The user's sessions: each issued token is one (a refresh row nobody holds)."""
    with use_scope(Scope.platform()):
        return await RefreshToken.filter(user__username=name).count()


async def test_a_city_the_user_does_not_work_in_is_refused(world: World) -> None:
    agent = await username(world.alpha.agent)
    before = await sessions_of(agent)
    refused = run("--user", agent, "--tenant", world.beta.slug)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert (
        f"PERMISSION_DENIED (tenant): {agent} is neither a member of {world.beta.slug} "
        "nor an administrator of its province"
    ) in refused.stderr
    unknown = run("--user", agent, "--tenant", "atlantis")
    assert unknown.returncode != 0
    assert "NOT_FOUND (tenant): city not found" in unknown.stderr
    assert await sessions_of(agent) == before  # nothing issued

    issued = run("--user", agent, "--tenant", world.alpha.slug)
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout)["X-Hotline-Tenant"] == world.alpha.slug
    by_code = run("--user", agent, "--tenant", str(world.alpha.tenant.code), "--raw")
    assert by_code.returncode == 0, by_code.stderr
    assert await sessions_of(agent) == before + 2


async def test_a_province_admin_gets_a_token_for_its_cities_only(world: World) -> None:
    admin = await username(world.province_admin)  # of Shandong: alpha and gamma
    assert run("--user", admin, "--tenant", world.gamma.slug).returncode == 0
    other = run("--user", admin, "--tenant", world.beta.slug)  # Jiangsu's
    assert other.returncode != 0
    assert "PERMISSION_DENIED (tenant)" in other.stderr
    # without a city the token is the user's, as before: the request's city is checked
    assert run("--user", admin, "--raw").returncode == 0
