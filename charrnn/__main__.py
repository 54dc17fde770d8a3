"""`python -m charrnn`: the command line (see charrnn.cli)."""

from charrnn.cli import main

raise SystemExit(main())
