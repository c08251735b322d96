from ocw.cli import main

raise SystemExit(main())
