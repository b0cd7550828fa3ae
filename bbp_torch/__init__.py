"""bbp_torch: Hessian spectra at initialization in overparametrized two-layer networks.

The pipeline of one run (:func:`bbp_torch.study.run_study`): ``config.validate`` ->
``model.make_problem`` -> ``hessian.HessianOperator`` -> ``spectrum.bottom_eigenpairs`` ->
``observables.measure`` (+ ``theory``) -> record; :func:`bbp_torch.jobs.run_job` runs it as a job
(lock, skip, TensorBoard, ``record.json``, error records) for every command.
"""

__version__ = "0.1.0"
