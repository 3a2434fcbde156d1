"""A small kustomize renderer for tests, for the few features deploy/kubernetes uses (no
kustomize binary here, and no maintained Python package renders kustomize): `resources` (files,
or folders with a kustomization.yaml), `namespace`, `images` (newName / newTag) and `patches`
given by `path` as strategic merge patches, each applied to the resource of its kind and name.

The strategic merge is kustomize's for what these patches touch: maps merge key by key; a list
whose items are maps with a `name` (containers, env, ports, volumes) merges item by item on that
name; any other list, and every scalar, is replaced. A feature outside this set (generators,
JSON 6902 patches, `$patch` directives, name prefixes ...) is refused, so a manifest cannot
quietly render differently here than under `kubectl kustomize`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
# Kinds that have no namespace (the ones this project could meet).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document in a file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def strategic_merge(base: Any, patch: Any) -> Any:
    """`patch` merged into `base` (see the module's docstring for the rules)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        if any(isinstance(k, str) and k.startswith("$") for k in patch):
            raise ValueError(f"unsupported directive in patch: {sorted(patch)}")
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        merged_list = [dict(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in index:
                i = index[item["name"]]
                merged_list[i] = strategic_merge(merged_list[i], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _set_images(resource: Resource, images: list[dict[str, str]]) -> None:
    spec = resource.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    if resource["kind"] == "CronJob":
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    for container in (*pod.get("initContainers", []), *pod.get("containers", [])):
        name, _, tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                tag = image.get("newTag", tag)
                new = image.get("newName", name)
                container["image"] = f"{new}:{tag}" if tag else new


def render(folder: Path) -> list[Resource]:
    """The resources a kustomization folder renders to, in order."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise ValueError(f"{folder}: unsupported kustomization fields {sorted(unsupported)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        resources += render(path) if path.is_dir() else load_documents(path)
    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise ValueError(f"{folder}: only `path` patches are supported, not {entry}")
        for patch in load_documents(folder / entry["path"]):
            key = (patch["kind"], patch["metadata"]["name"])
            targets = [
                i for i, r in enumerate(resources) if (r["kind"], r["metadata"]["name"]) == key
            ]
            if len(targets) != 1:
                raise ValueError(
                    f"{folder / entry['path']}: {key} matches {len(targets)} resources"
                )
            resources[targets[0]] = strategic_merge(resources[targets[0]], patch)
    for resource in resources:
        if "namespace" in kustomization and resource["kind"] not in CLUSTER_SCOPED:
            resource.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
        _set_images(resource, kustomization.get("images", []))
    return resources
