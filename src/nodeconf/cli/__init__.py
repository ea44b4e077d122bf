"""The ``nodeconf`` command line (also ``python -m nodeconf``).

Module map: ``main`` (the parser, the exit codes, the no-traceback rule), ``offline``
(``validate``, ``render``, ``schema``, ``default``), ``inputs`` (reading FILE: a document, a
ConfigMap manifest, a mounted directory, stdin), ``labels`` (``--node-labels`` and
``--labels-file``), ``daemon`` (``nodeconf run``), ``daemonflags`` (its flags and their
defaults), ``daemonoptions`` (checking them), ``listeners`` (the daemon's built-in
listeners ``--write-effective`` and ``--exec``).

Commands import what they need when they run, so ``nodeconf validate`` never pays for the
daemon's dependencies.

Thread-safety: the CLI runs on the main thread; see ``daemon`` for the threads of ``run``.
"""

from __future__ import annotations

__all__: list[str] = []
