"""An in-process kube-apiserver look-alike for tests: configmaps, nodes, pods and events.

Usage::

    from kubeapi import Fault, KubeAPIServer

    with KubeAPIServer() as srv:                       # binds 127.0.0.1:<free port>
        srv.write_kubeconfig(tmp_path / "kubeconfig")  # lightkube.KubeConfig.from_file(...)
        srv.create({"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}})
        srv.inject(Fault(watch=True, drop_after_events=1))
        ...

Standard library only: ``http.server`` speaking HTTP/1.1 with keep-alive, watches as chunked
newline-delimited JSON. See ``KubeAPIServer`` for the API, ``Fault`` for fault injection and
``kubeapi.wire`` for a plain ``http.client`` view of the wire (``http_request``,
``WatchStream``) used by the server's own tests.

Real kube-apiserver behaviours reproduced
-----------------------------------------
* Paths ``/api/v1/namespaces/{ns}/{configmaps,pods,events}[/{name}]``, ``/api/v1/nodes[/{name}]``
  (cluster-scoped), all-namespace ``/api/v1/{configmaps,pods,events}`` (list and watch),
  ``/version``, ``/api``, ``/apis`` and ``/api/v1`` discovery.
* One global ``resourceVersion`` across all resource types, bumped once per write; an update
  that changes nothing creates no version and no event.
* LIST: ``kind: <Kind>List``, ``metadata.resourceVersion`` = the current version, items
  without ``kind``/``apiVersion``; ``limit`` + ``continue`` paging with
  ``remainingItemCount``.
* WATCH (``watch=true|1``): no ``resourceVersion`` or ``"0"`` → synthetic ADDED for the
  current state, then live events; ``resourceVersion=N`` → exactly the changes after N
  from history, then live; events are ``{"type","object"}`` lines, DELETED carries the
  deletion's version.
  The legacy ``/.../configmaps/{name}?watch=true`` form watches that one object.
* Expired versions: history is a per-resource window (like the watch cache); after
  ``compact()`` or overflow of ``history_limit``, a watch from an older version gets
  ``200`` and an ``ERROR`` event with ``Status{reason: Expired, code: 410,
  message: "too old resource version: N (M)"}`` then the stream ends (the real watch
  cache's answer); ``expired_watch_mode = "status"`` answers HTTP 410 instead.
* ``allowWatchBookmarks=true``: periodic BOOKMARK events (object holds only ``kind``,
  ``apiVersion``, ``metadata.resourceVersion``), one just before a server-side timeout; a
  bookmark never overtakes an earlier event of its stream.
* ``timeoutSeconds=N``: the server ends the stream cleanly (terminating chunk, connection
  kept alive) after N seconds.
* ``fieldSelector`` (``=``, ``==``, ``!=`` on ``metadata.name``, ``metadata.namespace`` and
  a few per-resource fields; others → 400 ``field label not supported``) and
  ``labelSelector`` (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, ``!``exists) on LIST
  and WATCH. For a filtered watch an object entering the filter is ADDED, changing inside it
  MODIFIED, leaving it or being deleted DELETED (watch-cache semantics).
* POST → 201 with ``uid``, ``creationTimestamp``, ``resourceVersion`` set (``generateName``
  honoured), 409 ``AlreadyExists``; PUT → 404 ``NotFound`` when missing, 409 ``Conflict``
  (the real message) when ``metadata.resourceVersion`` is given and stale, unconditional
  without it; PATCH merge / strategic (as merge) / JSON patch, a ``resourceVersion`` in the
  patched object acting as a precondition, 415 for other patch types; DELETE → 200 ``Status``
  ``Success`` with ``details``, ``preconditions`` honoured (409).
* Errors are ``Status`` objects (``Content-Type: application/json``) with the real ``reason``
  and ``code``: BadRequest 400, NotFound 404, MethodNotAllowed 405, AlreadyExists/Conflict 409,
  Expired 410, UnsupportedMediaType 415, Invalid 422, TooManyRequests 429 (``Retry-After``
  header and ``details.retryAfterSeconds``), InternalError 500.
* Events (core/v1) accept create, get, list, watch, patch (count aggregation) and delete.
* A client that closes its watch connection is noticed at once (the stream's resources are
  released), as Go's request context cancellation does.
* Restarts: ``close_watches()`` ends every stream (terminating chunk, then the connection
  closes; ``abrupt=True`` omits the chunk); ``stop()`` + ``start()`` (``restart()``) refuses
  connections in between and comes back on the same port with the same data, so clients
  resume from their last resourceVersion.

Deliberately simplified
-----------------------
* No authentication, authorisation, admission, TLS, HTTP/2, protobuf, or API groups other
  than core/v1; no subresources (``/status``), no ``deletecollection``.
* Validation is minimal: object must be a JSON object of the right kind and ``v1``,
  labels/annotations/ConfigMap data map strings to strings, name required. No schema.
* Strategic merge patch is a JSON merge patch (lists replaced whole, no ``$patch``);
  server-side apply is refused (415).
* Deletion is immediate for every kind (no graceful pod deletion, no finalizers), always
  answered with a ``Status``.
* LIST ignores ``resourceVersion``/``resourceVersionMatch`` (always serves the latest,
  which is what ``resourceVersion=""`` asks for); ``continue`` pages are cut from the
  current state rather than a snapshot, and never expire.
* A watch from a version newer than the current one is accepted and waits for it (the real
  server waits a few seconds then answers 504 "Too large resource version").
* Without ``timeoutSeconds`` a watch stays open until the client leaves or the server stops
  (the real server picks a random timeout of 30-60 minutes). ``sendInitialEvents`` and
  ``resourceVersionMatch`` on watches are ignored.
* ``metadata.generation``, ``managedFields``, ``ownerReferences`` garbage collection, rate
  limiting (APF) and the per-object event budget are not modelled (faults stand in for 429).

Thread-safety: ``KubeAPIServer`` may be used from any thread; see its docstring.
"""

from __future__ import annotations

from kubeapi._faults import Fault
from kubeapi._resources import KubeAPIError
from kubeapi._server import KubeAPIServer, RequestRecord

__all__ = ["Fault", "KubeAPIError", "KubeAPIServer", "RequestRecord"]
