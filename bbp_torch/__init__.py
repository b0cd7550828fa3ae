"""bbp_torch: Hessian spectra at initialization in overparametrized two-layer networks.

The pipeline of one run: ``model.make_problem`` -> ``hessian.HessianOperator`` ->
``spectrum.bottom_eigenpairs`` -> ``observables.measure`` (+ ``theory``) -> ``results`` record.
"""

__version__ = "0.1.0"
