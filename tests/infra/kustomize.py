"""The subset of kustomize our manifests use, in Python (no kubectl needed in CI):
``resources`` (files and directories), ``namespace``, ``images`` (newName/newTag) and
``patches`` by path (strategic merge: maps merged, lists of named items merged by name,
other lists replaced). ``tests/infra/test_k8s.py`` compares it with ``kubectl kustomize``
where kubectl exists."""

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


def build(directory: Path) -> list[dict[str, Any]]:
    """The rendered objects of the kustomization in ``directory``."""
    config = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    objects: list[dict[str, Any]] = []
    for resource in config.get("resources", []):
        path = (directory / resource).resolve()
        objects.extend(build(path) if path.is_dir() else _load_all(path))
    for patch_ref in config.get("patches", []):
        for patch in _load_all(directory / patch_ref["path"]):
            key = (patch["kind"], patch["metadata"]["name"])
            matches = [
                n for n, o in enumerate(objects) if (o["kind"], o["metadata"]["name"]) == key
            ]
            assert matches, f"patch target not found: {key}"
            for n in matches:
                objects[n] = _merge(objects[n], patch)
    if "images" in config:
        _set_images(objects, config["images"])
    if "namespace" in config:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = config["namespace"]
    return objects
