# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""One gazetteer: the names cities added for SMS place detection (channel_place_names)
move to routing's gazetteer as name-only places (kind landmark, no unit) unless the
city's gazetteer already has a place of that name; then the channels' table goes.
Frozen literals."""

from tortoise import migrations
from tortoise.migrations import operations as ops

MOVE = (
    'INSERT INTO "gazetteer_places" (created_at, tenant_id, province_id, name, kind, '
    "aliases, department_id, updated_at) "
    "SELECT p.created_at, p.tenant_id, p.province_id, p.name, 'landmark', '[]'::jsonb, "
    "NULL, now() FROM \"channel_place_names\" p WHERE NOT EXISTS (SELECT 1 FROM "
    '"gazetteer_places" g WHERE g.tenant_id = p.tenant_id AND g.name = p.name)'
)


class Migration(migrations.Migration):
    dependencies = [("channels", "0002_wechat_secure_media"), ("routing", "0003_name_only_places")]

    initial = False

    operations = [
        ops.RunSQL([MOVE]),
        ops.DeleteModel(name="PlaceName"),
    ]
