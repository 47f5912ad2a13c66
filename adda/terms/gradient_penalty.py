"""R1 gradient penalty on the discriminator (Mescheder et al., ICML 2018): half the mean squared
norm of its gradient at source features, added to its objective. Tried on tuning seeds, not
adopted by any script."""
from adda.cli import NON_NEGATIVE
from adda.terms import Option, Term


class GradientPenalty(Term):
    name = 'gradient_penalty'
    position = 10
    options = (
        Option('gradient_penalty', NON_NEGATIVE, 0.0, "Weight of the R1 penalty on the "
               "discriminator's gradient at source features.", added=1, example=1.0),
    )

    def adversary_penalty(self, passes, discriminator):
        from adda.losses import r1_penalty
        return self.settings.gradient_penalty * r1_penalty(discriminator,
                                                           passes.source_features)


TERM = GradientPenalty
