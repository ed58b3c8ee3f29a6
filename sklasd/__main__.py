"""``python -m sklasd``: the main job (see :mod:`sklasd.cli`)."""

from sklasd.cli import main

raise SystemExit(main())
