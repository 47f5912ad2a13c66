"""Information maximisation on the target batch: confident predictions, balanced classes (no
labels), its weight grown from 0 over --infomax_ramp iterations. Both recipe scripts use it."""
import click

from adda.cli import NON_NEGATIVE
from adda.terms import LOGITS, Option, Term


class Infomax(Term):
    name = 'infomax'
    position = 30
    layers = (LOGITS,)
    options = (
        Option('target_infomax', NON_NEGATIVE, 0.0, "Weight of the target batch's information "
               'maximisation (confident predictions, balanced classes; no labels).', added=1,
               example=0.3),
        Option('infomax_ramp', click.IntRange(min=0), 0, 'With --target_infomax: grow its '
               'weight linearly from 0 over this many iterations, so that the adversarial '
               'alignment comes first.', added=2, example=100),
    )

    def mapping_loss(self, step):
        from adda.losses import infomax, ramp
        return ramp(self.settings.target_infomax, step.index, self.settings.infomax_ramp) * \
            infomax(step.passes.target_logits)


TERM = Infomax
