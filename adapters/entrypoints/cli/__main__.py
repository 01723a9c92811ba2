"""`python -m adapters.entrypoints.cli`: the `beian` command without its installed script."""

from adapters.entrypoints.cli.main import main

raise SystemExit(main())
