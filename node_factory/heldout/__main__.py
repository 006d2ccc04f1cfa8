"""python -m node_factory.heldout ..."""

from .cli import main

raise SystemExit(main())
