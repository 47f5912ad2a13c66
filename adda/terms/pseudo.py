"""Self-training on confident pseudo-labels (FixMatch-style): the target network on an
augmented view of each target image learns its own confident prediction on the image itself
(or the neighbour vote's, adda/terms/neighbours.py). The recipe (adda/tasks.py) uses it."""
import click

from adda.cli import NON_NEGATIVE
from adda.terms import LOGITS, Option, Term


class PseudoLabels(Term):
    name = 'pseudo'
    position = 40
    layers = (LOGITS,)
    view = 'target_augment'
    options = (
        Option('target_pseudo', NON_NEGATIVE, 0.0, 'Self-training: weight of the cross-entropy '
               'of the target network on an augmented view of each target image against its '
               'own confident prediction on the image itself (no labels).', added=3,
               example=1.0),
        Option('pseudo_threshold', click.FloatRange(0.0, 1.0), 0.95, 'With --target_pseudo: '
               'the confidence a prediction needs to be a label.', added=3, example=0.5),
        Option('target_augment', click.FloatRange(0.0, 0.5), 0.2, 'With --target_pseudo: '
               'zoom/shift strength of the augmented view (as train.py --augment).', off=0.0,
               added=3, example=0.2),
        Option('pseudo_ramp', click.IntRange(min=0), 0, 'With --target_pseudo: grow its weight '
               'linearly from 0 over this many iterations.', added=3, example=100),
    )

    def mapping_loss(self, step):
        from adda.compat import tf
        from adda.losses import pseudo_label_loss, ramp
        settings = self.settings
        teacher = step.teacher if step.teacher is not None else tf.nn.softmax(
            step.label_logits)
        loss, _ = pseudo_label_loss(teacher, step.passes.augmented_logits,
                                    settings.pseudo_threshold)
        return ramp(settings.target_pseudo, step.index, settings.pseudo_ramp) * loss


TERM = PseudoLabels
