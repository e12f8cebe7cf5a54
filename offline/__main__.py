"""Entry point for `python -m offline`: see offline/cli.py."""

import gc
import sys

from offline.cli import main

code = main()
# At shutdown the interpreter runs its cyclic garbage collector over every object still alive, the azure-native
# modules' hundreds of thousands among them: half a second of a cold `check` of prod (A/B, 2026-11-30). Frozen, they are
# skipped; everything else about exiting (atexit handlers, flushing, the pack stopped) happens as usual.
gc.freeze()
sys.exit(code)
