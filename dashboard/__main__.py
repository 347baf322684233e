import os
import sys
import threading

from dashboard.cli import main

code = main()
# Once the output is out and no thread of ours is left running (a daemon thread, such as an
# import's file check, ends with the process anyway), the command is done: the interpreter's
# own teardown of every module it loaded (DuckDB, the formats, the catalog) would add a few
# hundredths of a second to every command, with nothing left to close (the warehouse closed
# when the command's work did). Output that cannot be flushed (a closed pipe) exits as usual.
try:
    sys.stdout.flush()
    sys.stderr.flush()
except OSError:
    sys.exit(code)
if all(t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
    os._exit(code)
sys.exit(code)
