"""KubernetesSource: which changes become which keys, deletion, sync, stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.kubernetes.kube_helpers import (
    CONFIGMAP,
    KEY,
    NAMESPACE,
    NODE,
    WAIT,
    RecordingContext,
    configmap,
    document,
    fast_settings,
    put_document,
)

from kubeapi import KubeAPIServer
from nodeconf.errors import LifecycleError
from nodeconf.manager.source import KEY_DOCUMENT, KEY_NODE
from nodeconf.sources.kubernetes import KubernetesSource

pytestmark = pytest.mark.kubernetes

DOC_A = document(cpuQosConfig={"enable": True})
DOC_B = document(cpuQosConfig={"enable": False})
COLOCATION = "volcano.sh/colocation"


def watching_node(kubeconfig: str, node_name: str) -> KubernetesSource:
    """A source (no prepare) for a node of that name; the caller stops it."""
    return KubernetesSource(
        namespace=NAMESPACE,
        node_name=node_name,
        kubeconfig=kubeconfig,
        prepare=False,
        settings=fast_settings(),
    )


@pytest.fixture
def source(kubeconfig: str) -> Iterator[KubernetesSource]:
    src = watching_node(kubeconfig, NODE)
    yield src
    assert src.stop(WAIT)


def started(source: KubernetesSource, context: RecordingContext) -> RecordingContext:
    source.start(context)
    assert source.wait_synced(WAIT)
    return context


def test_threads_are_named_after_what_they_watch(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """The two loops run on nodeconf-watch-configmap and nodeconf-watch-node."""
    started(source, RecordingContext())
    names = {t.name for t in threading.enumerate()}
    assert {"nodeconf-watch-configmap", "nodeconf-watch-node"} <= names


def test_first_state_is_in_the_snapshot_without_keys(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """After wait_synced the snapshot holds the document and labels; nothing was notified
    (the manager's first sync reads the snapshot)."""
    put_document(api, DOC_A)
    context = started(source, RecordingContext())
    state = source.snapshot()
    assert state.document == DOC_A
    assert state.node_labels == {"kubernetes.io/hostname": NODE}
    assert (
        state.document_version
        == api.get("configmaps", CONFIGMAP, NAMESPACE)["metadata"]["resourceVersion"]
    )
    assert context.keys == []


def test_absent_configmap_syncs_with_no_document(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """A ConfigMap that does not exist is a known state: synced, document None."""
    started(source, RecordingContext())
    assert source.snapshot().document is None


def test_sync_waits_for_the_node(api: KubeAPIServer, kubeconfig: str) -> None:
    """Labels of a node that does not exist are unknown: not synced until it appears."""
    src = watching_node(kubeconfig, "late-node")
    context = RecordingContext()
    try:
        src.start(context)
        assert context.wait_report(lambda r: "late-node not found" in r.detail)
        assert not src.wait_synced(0.05)  # observing: not synced while the node is missing
        api.create({"kind": "Node", "metadata": {"name": "late-node", "labels": {"x": "1"}}})
        assert src.wait_synced(WAIT)
        assert src.snapshot().node_labels == {"x": "1"}
    finally:
        assert src.stop(WAIT)


def test_cancel_releases_a_wait_for_a_missing_node(api: KubeAPIServer, kubeconfig: str) -> None:
    """A manager stopped during start() cancels the source: a wait_synced blocked on a node
    that does not exist returns False at once, and so does every later one."""
    src = watching_node(kubeconfig, "never-node")
    context = RecordingContext()
    results: list[bool] = []
    try:
        src.start(context)
        assert context.wait_report(lambda r: "never-node not found" in r.detail)
        waiter = threading.Thread(target=lambda: results.append(src.wait_synced(None)))
        waiter.start()
        src.cancel()
        waiter.join(WAIT)
        assert not waiter.is_alive()
        assert results == [False]
        assert src.wait_synced(None) is False
    finally:
        assert src.stop(WAIT)


def test_document_change_notifies_configmap(api: KubeAPIServer, source: KubernetesSource) -> None:
    """An edit of the data key becomes one configmap key and the new text in the snapshot."""
    put_document(api, DOC_A)
    context = started(source, RecordingContext())
    put_document(api, DOC_B)
    assert context.wait_keys(KEY_DOCUMENT)
    assert source.snapshot().document == DOC_B
    assert context.keys == [KEY_DOCUMENT]


def test_unrelated_configmap_changes_notify_nothing(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """Another data key, an annotation or a no-op update changes nothing for us."""
    api.create(configmap(DOC_A, other="1"))
    context = started(source, RecordingContext())
    api.patch("configmaps", CONFIGMAP, {"data": {"other": "2"}}, namespace=NAMESPACE)
    api.patch(
        "configmaps", CONFIGMAP, {"metadata": {"annotations": {"a": "b"}}}, namespace=NAMESPACE
    )
    api.patch("configmaps", CONFIGMAP, {"data": {KEY: DOC_A}}, namespace=NAMESPACE)
    put_document(api, DOC_B)  # the marker: the same loop delivers it after the three above
    assert context.wait_keys(KEY_DOCUMENT)
    assert context.keys == [KEY_DOCUMENT]


def test_relevant_label_change_notifies_node(api: KubeAPIServer, source: KubernetesSource) -> None:
    """A change of a label the manager cares about becomes a node key."""
    context = started(source, RecordingContext(frozenset({COLOCATION})))
    api.patch("nodes", NODE, {"metadata": {"labels": {COLOCATION: "true"}}})
    assert context.wait_keys(KEY_NODE)
    assert source.snapshot().node_labels[COLOCATION] == "true"


def test_unrelated_label_change_notifies_nothing(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """A label no selector mentions is ignored (yet the snapshot stays current)."""
    context = started(source, RecordingContext(frozenset({COLOCATION})))
    api.patch("nodes", NODE, {"metadata": {"labels": {"team": "blue"}}})
    api.patch("nodes", NODE, {"metadata": {"labels": {COLOCATION: "true"}}})  # the marker
    assert context.wait_keys(KEY_NODE)
    assert context.keys == [KEY_NODE]
    assert source.snapshot().node_labels["team"] == "blue"


def test_deletion_keeps_the_last_document_and_is_reported(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """Deleting the ConfigMap keeps the last text in the snapshot and reports the deletion."""
    put_document(api, DOC_A)
    context = started(source, RecordingContext())
    api.delete("configmaps", CONFIGMAP, NAMESPACE)
    assert context.wait_report(lambda r: r.kind == "document-deleted")
    assert source.snapshot().document == DOC_A
    assert context.keys == [KEY_DOCUMENT]


def test_recreation_is_reported_and_resumes(api: KubeAPIServer, source: KubernetesSource) -> None:
    """Re-creating the ConfigMap reports document-restored and takes its new text."""
    put_document(api, DOC_A)
    context = started(source, RecordingContext())
    api.delete("configmaps", CONFIGMAP, NAMESPACE)
    assert context.wait_report(lambda r: r.kind == "document-deleted")
    api.create(configmap(DOC_B))
    assert context.wait_report(lambda r: r.kind == "document-restored")
    assert context.wait_keys(KEY_DOCUMENT, 2)
    assert source.snapshot().document == DOC_B


def test_missing_data_key_is_an_empty_document(
    api: KubeAPIServer, source: KubernetesSource
) -> None:
    """A ConfigMap without our key hands the manager an empty (unreadable) document."""
    api.create(configmap(DOC_A, key="something-else"))
    started(source, RecordingContext())
    assert source.snapshot().document == ""


def test_stop_is_prompt_and_joins_both_threads(api: KubeAPIServer, kubeconfig: str) -> None:
    """stop() wakes both open watches at once and joins them well within its timeout."""
    src = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        kubeconfig=kubeconfig,
        prepare=False,
        settings=fast_settings(watch_idle_timeout_seconds=60.0),
    )
    started(src, RecordingContext())
    assert api.wait_for_watchers(2)
    assert src.stop(1.0)
    assert not any(t.name.startswith("nodeconf-watch") for t in threading.enumerate())
    assert api.wait_for_no_watchers()


def test_nothing_is_notified_after_stop(api: KubeAPIServer, kubeconfig: str) -> None:
    """Once stop() returned, changes reach the context no more."""
    src = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        kubeconfig=kubeconfig,
        prepare=False,
        settings=fast_settings(),
    )
    context = started(src, RecordingContext())
    assert src.stop(WAIT)
    put_document(api, DOC_B)
    api.patch("nodes", NODE, {"metadata": {"labels": {COLOCATION: "true"}}})
    assert context.keys == []


def test_start_twice_is_a_lifecycle_error(api: KubeAPIServer, source: KubernetesSource) -> None:
    """A source starts once; a second start() says so instead of starting more threads."""
    started(source, RecordingContext())
    with pytest.raises(LifecycleError):
        source.start(RecordingContext())


def test_start_after_stop_is_a_lifecycle_error(kubeconfig: str) -> None:
    """A stopped source cannot be started."""
    src = KubernetesSource(namespace=NAMESPACE, node_name=NODE, kubeconfig=kubeconfig)
    assert src.stop(WAIT)
    with pytest.raises(LifecycleError):
        src.start(RecordingContext())
