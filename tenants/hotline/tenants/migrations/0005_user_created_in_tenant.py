from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('hotline', '0001_initial'), ('hotline', '0002_tenancy'), ('hotline', '0003_tickets'), ('hotline', '0004_tickets_tenancy')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='created_in_tenant_id',
            field=fields.BigIntField(null=True),
        ),
    ]
