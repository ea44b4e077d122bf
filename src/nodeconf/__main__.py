"""``python -m nodeconf``: the same as the ``nodeconf`` command."""

from nodeconf.cli.main import main

raise SystemExit(main())
