"""Pseudo-labels from a teacher that is not the network being trained: a moving average of the
target weights (mean teacher, Tarvainen and Valpola, NeurIPS 2017), which starts as the source
model and follows the target network slowly, so that a mistake the network makes for a few
hundred steps does not at once become the label it learns. Refines adda/terms/pseudo.py (and
the neighbour vote, whose bank then holds the teacher's features and predictions); the
average is part of the training state, the snapshot stays the target network's. Tried on
tuning shifts against the lock-in of early pseudo-labels, not adopted by any script
(docs/results.md says what it did)."""
from adda.cli import FiniteFloat
from adda.errors import AddaError
from adda.terms import SIMILARITY_LAYER, Option, Term
from adda.terms.ema import MovingAverage

TEACHER_SCOPE = 'teacher'


class Teacher(Term):
    name = 'teacher'
    position = 45  # after pseudo (40), before the neighbour vote (50) that reads its outputs
    requires = 'pseudo'
    options = (
        Option('pseudo_teacher', FiniteFloat(min=0.0, below=1.0), 0.0, 'With --target_pseudo: '
               'the pseudo-labels (and the neighbour vote) come from a moving average of the '
               'target weights with this decay (e.g. 0.999), which starts at the source model; '
               '0: from the target network itself.', off=0.0, added=7, example=0.9),
    )

    def __init__(self, settings, setup):
        super(Teacher, self).__init__(settings, setup)
        self.average = MovingAverage(setup.target_vars, settings.pseudo_teacher,
                                     scope=TEACHER_SCOPE)

    def prepare(self, step):
        """The teacher's logits and features of the step's target images become what the
        pseudo-labels are made from."""
        from adda.compat import tf
        from adda.util import collect_vars
        logits, features = step.outputs_of(step.passes.target_images, TEACHER_SCOPE,
                                           [None, SIMILARITY_LAYER])
        made = sorted(collect_vars(TEACHER_SCOPE))
        if made != sorted(self.average.shadows):  # the network made weights of its own
            raise AddaError('the teacher network has weights the target network has not: '
                            '{}'.format(', '.join(sorted(set(made) - set(self.average.shadows)))))
        step.label_logits = tf.stop_gradient(logits)
        step.label_features = tf.stop_gradient(features)

    def after_update(self, update):
        from adda.compat import tf
        with tf.control_dependencies([update]):
            return self.average.update()

    def after_restore(self, sess):
        self.average.reset(sess)


TERM = Teacher
