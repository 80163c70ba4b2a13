# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Working times as a sum and a bounded histogram instead of every single time
(docs/statistics.md, "Working-time histograms"): both aggregate tables gain
`sign_seconds_sum`, `reply_seconds_sum` (the exact means) and `sign_hist`,
`reply_hist` (`{"<bucket>": n}`, the p90 to a bucket), filled from the stored arrays
with the same integer bucket edges as `statistics/histogram.py` (`width_bucket` =
Python's `bisect_right`: the converted rows equal a recomputation), city by city under
each city's scope (the tables force row-level security). Expand only: the new columns
have database defaults and the arrays stay (the previous release reads and writes them
while it still serves; the new code writes none, so they default to []), to be dropped
in a later release. Frozen literals."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_ENCODER = functools.partial(dumps, separators=(",", ":"))
# one minute × 2^(j/8), j = 0…166, rounded to whole seconds
_EDGES = "{60,65,71,78,85,93,101,110,120,131,143,156,170,185,202,220,240,262,285,311,339,370,404,440,480,523,571,622,679,740,807,880,960,1047,1142,1245,1358,1481,1615,1761,1920,2094,2283,2490,2715,2961,3229,3521,3840,4188,4567,4980,5431,5922,6458,7043,7680,8375,9133,9960,10861,11844,12916,14085,15360,16750,18266,19919,21722,23688,25832,28170,30720,33500,36532,39839,43445,47377,51665,56341,61440,67001,73065,79678,86889,94753,103329,112681,122880,134002,146130,159356,173779,189507,206659,225363,245760,268003,292260,318711,347557,379014,413317,450726,491520,536006,584519,637423,695114,758027,826635,901452,983040,1072013,1169038,1274845,1390229,1516055,1653270,1802903,1966080,2144025,2338076,2549690,2780457,3032110,3306539,3605807,3932160,4288051,4676153,5099381,5560914,6064220,6613078,7211613,7864320,8576102,9352305,10198761,11121828,12128439,13226157,14423226,15728640,17152204,18704611,20397522,22243656,24256879,26452314,28846453,31457280,34304407,37409221,40795045,44487312,48513758,52904628,57692906,62914560,68608814,74818442,81590090,88974624,97027516,105809256}"
_TABLES = ("DailyStat", "DepartmentDay")


def _hist(column: str) -> str:
    return (
        "(SELECT coalesce(jsonb_object_agg(b::text, n ORDER BY b), '{}'::jsonb) FROM "
        f"(SELECT width_bucket(v::bigint, '{_EDGES}'::bigint[]) AS b, count(*)::int AS n "
        f"FROM jsonb_array_elements_text(d.{column}) v GROUP BY 1) h)"
    )


def _sum(column: str) -> str:
    return f"(SELECT coalesce(sum(v::bigint), 0) FROM jsonb_array_elements_text(d.{column}) v)"


_CONVERT = f"""
DO $do$
DECLARE
    city record;
BEGIN
    FOR city IN SELECT id FROM tenants ORDER BY id LOOP
        PERFORM set_config('app.scope', 'city', true);
        PERFORM set_config('app.tenant_id', city.id::text, true);
        UPDATE stats_daily d SET
            sign_seconds_sum = {_sum("sign_seconds")}, sign_hist = {_hist("sign_seconds")},
            reply_seconds_sum = {_sum("reply_seconds")}, reply_hist = {_hist("reply_seconds")}
        WHERE d.tenant_id = city.id;
        UPDATE stats_daily_departments d SET
            sign_seconds_sum = {_sum("sign_seconds")}, sign_hist = {_hist("sign_seconds")},
            reply_seconds_sum = {_sum("reply_seconds")}, reply_hist = {_hist("reply_seconds")}
        WHERE d.tenant_id = city.id;
    END LOOP;
    PERFORM set_config('app.scope', '', true);
    PERFORM set_config('app.tenant_id', '', true);
END
$do$"""


def _new(name: str) -> object:
    if name.endswith("_sum"):
        return fields.BigIntField(default=0, db_default=0)
    return fields.JSONField(default=dict, db_default={}, encoder=_ENCODER, decoder=loads)


_NEW = ("sign_seconds_sum", "reply_seconds_sum", "sign_hist", "reply_hist")


class Migration(migrations.Migration):
    dependencies = [("statistics", "0006_call_records_by_month")]

    initial = False

    operations = [
        # expand only (docs/operations.md): defaulted columns, filled here; the arrays stay
        # (the previous release reads and writes them), defaulting to [] for the new code
        *(
            ops.AddField(model_name=model, name=name, field=_new(name))  # type: ignore[arg-type]
            for model in _TABLES
            for name in _NEW
        ),
        ops.RunSQL([_CONVERT]),
        *(
            ops.AlterField(
                model_name=model,
                name=name,
                field=fields.JSONField(
                    default=list, db_default=[], encoder=_ENCODER, decoder=loads
                ),
            )
            for model in _TABLES
            for name in ("sign_seconds", "reply_seconds")
        ),
    ]
