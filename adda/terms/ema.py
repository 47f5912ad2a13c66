"""An exponential moving average (Polyak) of the target weights, saved as the snapshot in
their place; the averages are part of the training state. Tried on tuning seeds, not adopted
by any script."""
import collections

from adda.cli import FiniteFloat
from adda.terms import Option, Term


class MovingAverage(object):
    """An exponential moving average of ``variables`` (name -> variable) in shadow variables
    under ``scope``, started from the variables' values by ``reset`` (after they are restored):
    shadow <- decay * shadow + (1 - decay) * variable after each update."""

    def __init__(self, variables, decay, scope='ema'):
        from adda.compat import tf
        self.decay = decay
        self.variables = variables
        with tf.variable_scope(scope):
            self.shadows = collections.OrderedDict(
                (name, tf.get_variable(name, var.shape, var.dtype.base_dtype,
                                       initializer=tf.zeros_initializer(), trainable=False))
                for name, var in variables.items())
        self._reset = tf.group(*[shadow.assign(self.variables[name])
                                 for name, shadow in self.shadows.items()])

    def update(self):
        """The op that moves every shadow towards its variable (build it after the update)."""
        from adda.compat import tf
        return tf.group(*[shadow.assign_sub((1.0 - self.decay) * (
            shadow - self.variables[name])) for name, shadow in self.shadows.items()])

    def reset(self, sess):
        sess.run(self._reset)


class Ema(Term):
    name = 'ema'
    position = 80
    options = (
        Option('ema', FiniteFloat(min=0.0, below=1.0), 0.0, 'Save a moving average of the '
               'target weights with this decay (e.g. 0.999) as the snapshot; 0 saves the '
               'weights themselves.', added=1, example=0.9),
    )

    def __init__(self, settings, setup):
        super(Ema, self).__init__(settings, setup)
        self.average = MovingAverage(setup.target_vars, settings.ema)

    def after_update(self, update):
        from adda.compat import tf
        with tf.control_dependencies([update]):
            return self.average.update()

    def snapshot_vars(self):
        return self.average.shadows

    def after_restore(self, sess):
        self.average.reset(sess)


TERM = Ema
