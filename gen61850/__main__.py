"""``python -m gen61850``: the same command line as the ``gen61850`` script."""

from gen61850.cli import main

raise SystemExit(main())
