"""The subset of kustomize our manifests use, in Python (no kubectl needed in CI):
``resources`` (files and directories), ``components``, ``namespace``, ``images``
(newName/newTag) and ``patches`` by path — strategic merge (maps merged, lists of named
items merged by name, other lists replaced), or with a ``target`` a JSON patch (RFC 6902
``add``/``replace``/``remove``). ``tests/infra/test_k8s.py`` compares it with
``kubectl kustomize`` where kubectl exists."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        merged = [dict(i) for i in base]
        for item in patch:
            for n, existing in enumerate(merged):
                if existing["name"] == item["name"]:
                    merged[n] = _merge(existing, item)
                    break
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(patch)


def _set_images(node: Any, images: list[dict[str, str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                name, _, tag = value.partition(":")
                for image in images:
                    if image["name"] == name:
                        node[key] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
            else:
                _set_images(value, images)
    elif isinstance(node, list):
        for item in node:
            _set_images(item, images)


def _json_patch(obj: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    for op in operations:
        steps = op["path"][1:].split("/")
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in steps]
        node: Any = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if op["op"] == "add" and isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), copy.deepcopy(op["value"]))
        elif op["op"] in ("add", "replace"):
            if isinstance(node, list):
                node[int(last)] = copy.deepcopy(op["value"])
            else:
                node[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[int(last) if isinstance(node, list) else last]
        else:
            raise AssertionError(f"unsupported JSON patch operation: {op['op']}")
    return out


def _apply_patches(directory: Path, config: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    for patch_ref in config.get("patches", []):
        target = patch_ref.get("target")
        if target is not None:  # a JSON patch for the objects the target names
            operations = yaml.safe_load((directory / patch_ref["path"]).read_text("utf-8"))
            matches = [
                n
                for n, o in enumerate(objects)
                if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]
            ]
            assert matches, f"patch target not found: {target}"
            for n in matches:
                objects[n] = _json_patch(objects[n], operations)
            continue
        for patch in _load_all(directory / patch_ref["path"]):
            key = (patch["kind"], patch["metadata"]["name"])
            matches = [
                n for n, o in enumerate(objects) if (o["kind"], o["metadata"]["name"]) == key
            ]
            assert matches, f"patch target not found: {key}"
            for n in matches:
                objects[n] = _merge(objects[n], patch)


def build(directory: Path) -> list[dict[str, Any]]:
    """The rendered objects of the kustomization in ``directory``."""
    config = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    objects: list[dict[str, Any]] = []
    for resource in config.get("resources", []):
        path = (directory / resource).resolve()
        objects.extend(build(path) if path.is_dir() else _load_all(path))
    for component in config.get("components", []):  # each a kustomization of its own
        path = (directory / component).resolve()
        comp = yaml.safe_load((path / "kustomization.yaml").read_text(encoding="utf-8"))
        assert comp["kind"] == "Component", path
        for resource in comp.get("resources", []):
            objects.extend(_load_all(path / resource))
        _apply_patches(path, comp, objects)
    _apply_patches(directory, config, objects)
    if "images" in config:
        _set_images(objects, config["images"])
    if "namespace" in config:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = config["namespace"]
    return objects
