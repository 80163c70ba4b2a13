"""Global ids (Relay): ``base64("Type:id")``; a wrong type reads as NotFound."""

from __future__ import annotations

from strawberry import relay

from hotline.tenants.kernel.errors import NotFound


def decode_id(gid: relay.GlobalID, type_name: str, *, field: str) -> int:
    if gid.type_name != type_name:
        raise NotFound(type_name.lower(), field=field)
    try:
        return int(gid.node_id)
    except ValueError as exc:
        raise NotFound(type_name.lower(), field=field) from exc


def encode_id(type_name: str, key: int) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(key))
