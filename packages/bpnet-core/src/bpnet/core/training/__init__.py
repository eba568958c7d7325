"""Training: the BPNet losses and the resumable training loop (:class:`Trainer`)."""

from .losses import LossTerms, count_targets, log1p_mse, multinomial_nll, profile_count_loss
from .trainer import Trainer, TrainerSettings, TrainingResult

__all__ = [
    "LossTerms", "Trainer", "TrainerSettings", "TrainingResult", "count_targets", "log1p_mse",
    "multinomial_nll", "profile_count_loss",
]
