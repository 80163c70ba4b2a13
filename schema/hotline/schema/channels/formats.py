"""Open311's two formats: the same documents as JSON or as XML (GeoReport v2)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET  # written only, never parsed

from starlette.responses import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# Element names of list items in XML, by the list's element name.
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list | tuple):
        name = _ITEMS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, name), item)
    else:
        element.text = _scalar(value)


def render(
    fmt: str, root: str, document: Sequence[Any] | Mapping[str, Any], status: int = 200
) -> Response:
    """``document`` as JSON, or as XML under the element ``root``."""
    if fmt == "xml":
        element = ET.Element(root)
        if isinstance(document, Mapping):
            _fill(element, document)
        else:
            _fill(element, list(document))
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")
        return Response(body, status_code=status, media_type=FORMATS["xml"])
    return Response(
        json.dumps(_jsonable(document), ensure_ascii=False).encode(),
        status_code=status,
        media_type=FORMATS["json"],
    )


def error(fmt: str, status: int, description: str) -> Response:
    """The standard's error document: a list of {code, description}."""
    return render(
        fmt if fmt in FORMATS else "json",
        "errors",
        [{"code": status, "description": description}],
        status,
    )
