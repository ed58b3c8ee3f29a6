"""ClassifierNet on Hugging Face Accelerate: one network trained on several GPUs or machines."""

from __future__ import annotations

from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from sklasd.training._net import ClassifierNet

__all__ = ["AcceleratedClassifierNet"]


class AcceleratedClassifierNet(AccelerateMixin, ClassifierNet):
    """:class:`ClassifierNet` trained through an ``accelerate.Accelerator``.

    skorch's :class:`~skorch.hf.AccelerateMixin` on :class:`ClassifierNet`: the
    accelerator places the module, criterion, optimizer and LR scheduler, so the
    same net trains on one CPU, one GPU, several GPUs of a machine or several
    machines (data parallel), with the accelerator's mixed precision and gradient
    accumulation. Pass it wherever a ``ClassifierNet`` goes, e.g. as the ``net`` of
    :class:`~sklasd.embedders.NetEmbedder`, and launch the script with
    ``accelerate launch`` (see the distributed training page of the documentation).

    Unlike skorch's mixin alone, a trained net pickles: after training the optimizer
    and the LR scheduler are unwrapped as well as the module and criterion (skorch
    unwraps only those two, and the scheduler's reference to the wrapped optimizer
    made pickling fail), and the accelerator's references to them are released.
    Let the accelerator place the net (``device=None``, the default); a net pickled
    after training loads on a machine without the accelerator's devices.

    Parameters
    ----------
    module : type
        The network class, as for :class:`ClassifierNet`.
    *args, **kwargs
        Passed to :class:`ClassifierNet` (``criterion``, ``lr``, ``max_epochs``,
        ``module__...``); ``amp`` should stay False: use the accelerator's
        ``mixed_precision`` instead.
    accelerator : accelerate.Accelerator
        The accelerator (``Accelerator(cpu=True)`` on a CPU,
        ``Accelerator(mixed_precision="bf16")`` on GPUs).
    device : None, default=None
        Leave device placement to the accelerator.
    unwrap_after_train : bool, default=True
        Unwrap the module, criterion, optimizer and scheduler after training (needed
        for pickling and plain inference).
    callbacks__print_log__sink : callable or "auto", default=print
        Where the epoch log goes. skorch's "auto" (the accelerator's ``print``,
        which prints on the main process only) prints whatever ``verbose`` says;
        ``print`` respects ``verbose``. On several processes with ``verbose=1``,
        pass "auto" to get one log instead of one per process.

    See Also
    --------
    ClassifierNet : The net without Accelerate.
    skorch.hf.AccelerateMixin : skorch's integration.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from sklasd.nn import TDNN
    >>> from sklasd.embedders import NetEmbedder
    >>> from sklasd.training import AcceleratedClassifierNet
    >>> X = np.random.default_rng(0).normal(size=(16, 1, 8, 32)).astype(np.float32)
    >>> net = AcceleratedClassifierNet(
    ...     TDNN, accelerator=Accelerator(cpu=True), max_epochs=2, batch_size=8,
    ...     module__embedding_dim=8)
    >>> embedder = NetEmbedder(net=net, n_frames=16, random_state=0)
    >>> embedder.fit(X, section=np.repeat([0, 1], 8)).transform(X).shape
    (16, 8)
    """

    def __init__(self, *args, callbacks__print_log__sink=print, **kwargs):
        super().__init__(*args, callbacks__print_log__sink=callbacks__print_log__sink, **kwargs)

    def train_step_single(self, batch, **fit_params):
        """The accelerated training step, with mixup and feature exchange when they are on."""
        if not self._augmenting:
            return super().train_step_single(batch, **fit_params)
        with self.accelerator.autocast():
            step = self._augmented_step(batch, **fit_params)
            self.accelerator.backward(step["loss"])
        return step

    def _unwrap_accelerator(self) -> None:
        if not self._wrapped_with_accelerator:
            return
        super()._unwrap_accelerator()
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            setattr(self, name + "_", getattr(optimizer, "optimizer", optimizer))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler) and hasattr(callback, "lr_scheduler_"):
                scheduler = getattr(callback.lr_scheduler_, "scheduler", callback.lr_scheduler_)
                scheduler.optimizer = getattr(
                    scheduler.optimizer, "optimizer", scheduler.optimizer
                )
                callback.lr_scheduler_ = scheduler
        self.accelerator.free_memory()
