"""The commands: ``bbp`` (:mod:`.bbp`), ``bbp-train`` (:mod:`.train`), ``bbp-theory``
(:mod:`.theory`), ``bbp-collect`` (:mod:`.collect`) and ``bbp-figures`` (:mod:`.figures`). Thin:
they parse, call the library, print, and map outcomes to exit codes (0 ok, 1 a run failed or did
not converge, 2 the input was refused); ``bbp`` and ``bbp-train`` return their outcome
(:func:`.app.run_command`).
"""

import os
import sys
from collections.abc import Callable


def exit_with(main: Callable[[], int]) -> None:
    """Run a command's ``main`` and exit with its code; output cut short by a closed pipe
    (``bbp --help | head``) ends quietly."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
