"""Patch documents: JSON merge patch (RFC 7386) and JSON patch (RFC 6902 subset).

Pure functions over deep copies: no I/O, no threads; any thread may call them. Errors raise
``KubeAPIError`` with the code the real API server uses: a malformed patch document is a 400
``BadRequest``; a patch that cannot be applied (failed ``test``, missing path) is a 422
``Invalid``.

Strategic merge patch is a merge patch in which the lists named in ``STRATEGIC_MERGE_KEYS``
(``status.conditions``, keyed by ``type``, as on a Pod or a Node) are merged by key: an item
of the patch replaces-by-merging the target's item with the same key and a new key is
appended, the other items stay. Every other list is replaced whole, and ``$patch``
directives are not understood: a deliberate simplification.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeapi._resources import KubeAPIError, bad_request, status_failure

__all__ = [
    "PATCH_TYPES",
    "STRATEGIC_MERGE_KEYS",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_patch",
    "apply_strategic_merge_patch",
]

#: Content-Type -> short name accepted by ``KubeAPIServer.patch(patch_type=...)``.
PATCH_TYPES: dict[str, str] = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
}


def _invalid(message: str) -> KubeAPIError:
    return KubeAPIError(status_failure(422, "Invalid", message))


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


#: The lists a strategic merge patch merges by key: path of the list -> the key field.
STRATEGIC_MERGE_KEYS: dict[tuple[str, ...], str] = {("status", "conditions"): "type"}


def apply_strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """A merge patch whose lists in ``STRATEGIC_MERGE_KEYS`` merge item by item on their key."""
    if not isinstance(patch, dict):
        merge_key = STRATEGIC_MERGE_KEYS.get(path)
        if merge_key is not None and isinstance(patch, list):
            return _merge_list_by_key(target, patch, merge_key, path)
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_strategic_merge_patch(result.get(key), value, (*path, key))
    return result


def _merge_list_by_key(
    target: Any, patch: list[Any], merge_key: str, path: tuple[str, ...]
) -> list[Any]:
    result = copy.deepcopy(target) if isinstance(target, list) else []
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            where = ".".join(path)
            raise bad_request(f"{where}: every item of a strategic merge needs {merge_key!r}")
        for index, existing in enumerate(result):
            if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]:
                result[index] = apply_merge_patch(existing, item)
                break
        else:
            result.append(copy.deepcopy(item))
    return result


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid(f"doc is missing path: {path!r}")
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _invalid(f"doc is missing path: {path!r}")


def _list_index(parent: list[Any], last: str, path: str, *, insert: bool) -> int:
    if insert and last == "-":
        return len(parent)
    if not last.isdigit():
        raise _invalid(f"invalid array index {last!r} in {path!r}")
    index = int(last)
    if index > len(parent) or (not insert and index == len(parent)):
        raise _invalid(f"array index out of bounds in {path!r}")
    return index


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, last, path, insert=True), copy.deepcopy(value))
    else:
        raise _invalid(f"doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise _invalid("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_list_index(parent, last, path, insert=False)]
    else:
        raise _invalid(f"doc is missing path: {path!r}")
    return doc


def apply_json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 ``add``, ``remove``, ``replace``, ``test``, ``move``, ``copy``."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"malformed JSON patch operation {operation!r}")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise bad_request(f"JSON patch operation {op!r} needs a value")
        if op == "add":
            doc = _add(doc, path, operation["value"])
        elif op == "remove":
            doc = _remove(doc, path)
        elif op == "replace":
            _get(doc, path)  # must exist
            doc = (
                _add(_remove(doc, path), path, operation["value"])
                if _pointer(path)
                else (copy.deepcopy(operation["value"]))
            )
        elif op == "test":
            if _get(doc, path) != operation["value"]:
                raise _invalid(f"testing value {path} failed")
        elif op in ("move", "copy"):
            source = operation.get("from")
            if not isinstance(source, str):
                raise bad_request(f"JSON patch operation {op!r} needs a 'from' pointer")
            value = copy.deepcopy(_get(doc, source))
            if op == "move":
                doc = _remove(doc, source)
            doc = _add(doc, path, value)
        else:
            raise bad_request(f"unknown JSON patch operation {op!r}")
    return doc


def apply_patch(target: dict[str, Any], patch: Any, patch_type: str) -> Any:
    """Apply ``patch`` of ``patch_type`` (``merge``, ``strategic`` or ``json``) to a copy."""
    if patch_type in ("merge", "strategic"):
        if not isinstance(patch, dict):
            raise bad_request("a merge patch must be a JSON object")
        if patch_type == "strategic":
            return apply_strategic_merge_patch(target, patch)
        return apply_merge_patch(target, patch)
    if patch_type == "json":
        return apply_json_patch(target, patch)
    raise KubeAPIError(
        status_failure(
            415, "UnsupportedMediaType", f"the patch type {patch_type!r} is not supported"
        )
    )
