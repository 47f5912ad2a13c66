"""Virtual adversarial training on the target images (Miyato et al., TPAMI 2018; VADA): the
target network's prediction kept where it is within --vat_radius of each image. CPU and GPU
only. Tried on tuning seeds, not adopted by any script."""
from adda.cli import NON_NEGATIVE, FiniteFloat
from adda.terms import LOGITS, Option, Term


class VirtualAdversarial(Term):
    name = 'vat'
    position = 60
    layers = (LOGITS,)
    refused = {'npu': 'draws random directions in the training step, which the NPU graph '
                      'cannot do: CANN documents its stateless normal op '
                      '(StatelessRandomNormalV2) for the Ascend 950 only, not the 910; run it '
                      'with --device cpu or gpu'}
    options = (
        Option('target_vat', NON_NEGATIVE, 0.0, 'Weight of virtual adversarial training on the '
               "target images: the divergence of the target network's prediction at each "
               'image from its prediction at the worst nearby image (no labels; CPU and GPU '
               'only).', added=4, example=1.0),
        Option('vat_radius', FiniteFloat(min=0.0), 2.0, 'With --target_vat: the L2 norm of the '
               'perturbation of an image (pixels in 0-1, so a 28x28 digit has a norm of about '
               '9).', off=0.0, added=4),
    )

    def mapping_loss(self, step):
        from adda.losses import virtual_adversarial_loss
        from adda.random_keys import stateless_key
        key = stateless_key(step.seed, 'vat', 1, step.index)
        return self.settings.target_vat * virtual_adversarial_loss(
            step.target_logits_of, step.passes.target_images, step.passes.target_logits,
            self.settings.vat_radius, key)


TERM = VirtualAdversarial
