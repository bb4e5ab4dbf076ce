"""`python -m ndc.dictionary`: see ndc.dictionary.main."""

from ndc.dictionary import main

raise SystemExit(main())
