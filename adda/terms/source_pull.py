"""An L2 pull of the adapted target weights towards the source weights (L2-SP). Tried on tuning
seeds, not adopted by any script."""
from collections import OrderedDict

from adda.cli import NON_NEGATIVE
from adda.terms import Option, Term


class SourcePull(Term):
    name = 'source_pull'
    position = 20
    options = (
        Option('source_pull', NON_NEGATIVE, 0.0, 'Weight of an L2 penalty keeping the target '
               'weights near the source weights.', added=1, example=1e-3),
    )

    def mapping_loss(self, step):
        from adda.losses import source_pull
        adapted = OrderedDict((k, v) for k, v in step.target_vars.items() if v in step.adapted)
        return self.settings.source_pull * source_pull(adapted, step.source_vars)


TERM = SourcePull
