"""The commands: ``bbp`` (:mod:`.bbp`), ``bbp-train`` (:mod:`.train`), ``bbp-theory``
(:mod:`.theory`) and ``bbp-collect`` (:mod:`.collect`). Thin: they parse, call the library and
map outcomes to exit codes (0 ok, 1 a run failed or did not converge, 2 the input was refused).
"""
