from .book import main

raise SystemExit(main())
