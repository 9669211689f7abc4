"""What the tests of the stored experiments share: an experiment run under the smoke profile, with every training
it starts seen by the test's spy."""
import contextlib

import cnnlab
from cnnlab.experiments import run as run_module
from cnnlab.experiments.run import Run


@contextlib.contextmanager
def smoke_profile():
    """The smoke profile inside the block, the previous profile after it."""
    previous = cnnlab.profiles.get_profile().name
    cnnlab.profiles.set_profile("smoke")
    try:
        yield
    finally:
        cnnlab.profiles.set_profile(previous)


def run_with_spy(experiment, spy):
    """``experiment`` run under smoke, each training through ``spy(fit, model, data, **options)``, which calls
    ``fit`` itself and may look at the model before and after; returns the Run and the experiment's values."""
    real_fit = run_module.fit
    run_module.fit = lambda model, data, **options: spy(real_fit, model, data, **options)
    try:
        with smoke_profile():
            run = Run("smoke")
            return run, experiment.function(run)
    finally:
        run_module.fit = real_fit
