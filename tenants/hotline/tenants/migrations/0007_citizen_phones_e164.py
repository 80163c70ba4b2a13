"""Citizens' phones to E.164: re-normalise and re-hash every stored number.

Before this, ``13800001234``, ``+8613800001234`` and ``008613800001234`` were stored
(encrypted) and hashed as three callers. Each city's tickets are rewritten under that
city's row-level-security scope: the number is decrypted, normalised as
``hotline.tenants.tickets.phones`` does it, encrypted again and hashed. A number that
is not a valid phone number is left as it was (and counted in the log).
"""

from typing import Any

import structlog
from tortoise import migrations
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations import operations as ops

from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.phones import PHONE_PURPOSE, normalize_phone

log = structlog.get_logger(__name__)


async def renormalize_citizen_phones(client: BaseDBAsyncClient) -> dict[str, int]:
    """Rewrite every ticket's phone in E.164; run inside a transaction (the scope
    variables are set transaction-locally). Returns counts: changed, kept, invalid."""
    counts = {"changed": 0, "kept": 0, "invalid": 0}
    _, tenants = await client.execute_query('SELECT id FROM "tenants" ORDER BY id')
    for tenant in tenants:
        await client.execute_query(
            "SELECT set_config('app.scope', 'city', true), "
            "set_config('app.tenant_id', $1, true)",
            [str(tenant["id"])],
        )
        _, rows = await client.execute_query(
            'SELECT id, citizen_phone_enc, citizen_phone_hash FROM "tickets" '
            "WHERE citizen_phone_enc IS NOT NULL AND tenant_id = $1 ORDER BY id",
            [tenant["id"]],
        )
        for row in rows:
            stored = decrypt(row["citizen_phone_enc"])
            try:
                phone = normalize_phone(stored)
            except Invalid:
                counts["invalid"] += 1
                continue
            digest = keyed_hash(phone, PHONE_PURPOSE)
            if phone == stored and digest == row["citizen_phone_hash"]:
                counts["kept"] += 1
                continue
            await client.execute_query(
                'UPDATE "tickets" SET citizen_phone_enc = $1, citizen_phone_hash = $2 '
                "WHERE id = $3 AND tenant_id = $4",
                [encrypt(phone), digest, row["id"], tenant["id"]],
            )
            counts["changed"] += 1
    await client.execute_query(
        "SELECT set_config('app.scope', '', true), set_config('app.tenant_id', '', true)"
    )
    log.info("citizen phones renormalised", **counts)
    return counts


async def _forwards(apps: Any, schema_editor: Any) -> None:
    await renormalize_citizen_phones(schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0001_initial"),
        ("hotline", "0002_tenancy"),
        ("hotline", "0003_tickets"),
        ("hotline", "0004_tickets_tenancy"),
        ("hotline", "0005_user_created_in_tenant"),
        ("hotline", "0006_calendar_years"),
    ]

    initial = False

    operations = [ops.RunPython(_forwards, ops.RunPython.noop)]
