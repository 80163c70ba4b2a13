# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""WeChat's encrypted mode (the account's EncodingAESKey, encrypted at rest) and the
evidence a WeChat image/voice became (set once by the media job). Frozen literals."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("channels", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="WechatAccount",
            name="aes_key_enc",
            field=fields.TextField(null=True),
        ),
        ops.AddField(
            model_name="InboundMessage",
            name="evidence_id",
            field=fields.BigIntField(null=True),
        ),
    ]
