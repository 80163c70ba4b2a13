# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""One gazetteer: the names cities added for SMS place detection (channel_place_names)
move to routing's gazetteer as name-only places (kind landmark, no unit) unless the
city's gazetteer already has a place of that name; then the channels' table goes.

City by city with the city's RLS settings (transaction-local): both tables force row
security even for their owner, so an owner without BYPASSRLS reading them with no scope
would see no rows, move nothing and then drop the table (tests/channels/
test_migration_0003.py runs it as such an owner). Frozen literals."""

from tortoise import migrations
from tortoise.migrations import operations as ops

MOVE = """
DO $$
DECLARE
    city record;
BEGIN
    FOR city IN SELECT id, province_id FROM "tenants" ORDER BY id LOOP
        PERFORM set_config('app.scope', 'city', true);
        PERFORM set_config('app.tenant_id', city.id::text, true);
        PERFORM set_config('app.province_id', city.province_id::text, true);
        INSERT INTO "gazetteer_places" (created_at, tenant_id, province_id, name, kind,
            aliases, department_id, updated_at)
        SELECT p.created_at, p.tenant_id, p.province_id, p.name, 'landmark', '[]'::jsonb,
            NULL, now()
        FROM "channel_place_names" p
        WHERE p.tenant_id = city.id AND NOT EXISTS (
            SELECT 1 FROM "gazetteer_places" g WHERE g.tenant_id = p.tenant_id AND g.name = p.name);
    END LOOP;
    PERFORM set_config('app.scope', '', true);
    PERFORM set_config('app.tenant_id', '', true);
    PERFORM set_config('app.province_id', '', true);
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("channels", "0002_wechat_secure_media"), ("routing", "0003_name_only_places")]

    initial = False

    operations = [
        ops.RunSQL([MOVE]),
        ops.DeleteModel(name="PlaceName"),
    ]
