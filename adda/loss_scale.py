"""Loss scaling for float16 training: gradients of the scaled loss, unscaled before the update;
a step whose gradients are not finite is skipped and counted, and a dynamic scale adapts.

One scaler serves a whole training step: every gradient of the step (in adaptation, the
mapping's and the discriminator's) is computed at the same scale, checked together and applied
or skipped together, since they come from one forward pass.

- ``NoScaling``: plain gradients (fp32 runs).
- ``InGraphScaling``: our own scaler for GPUs (and CPUs, for tests), with the update rule of
  Ascend's ExponentialUpdateLossScaleManager (and TF 1.x contrib's): after ``incr_every``
  consecutive finite steps the scale doubles; after ``decr_every`` non-finite ones (not
  necessarily consecutive) it is multiplied by ``decr_ratio``, never below 1.
- ``NpuScaling``: npu_bridge's NPULossScaleOptimizer and loss-scale managers. On the Ascend 910
  float overflow saturates to +-max instead of becoming inf, so only the adapter's float-status
  check (inside NPULossScaleOptimizer) sees it.
"""
import collections

from adda.compat import tf

# Defaults of the dynamic scale: TensorFlow's own (2**15, raise every 2000 steps) would take
# long to climb back; Huawei's BERT example starts at 2**32. These suit LeNet's short runs.
INIT_SCALE = 2.0 ** 15
INCR_EVERY = 1000
DECR_EVERY = 2
DECR_RATIO = 0.5
# A run whose steps overflow this many times in a row has collapsed.
COLLAPSE_STREAK = 100

LossScale = collections.namedtuple('LossScale', 'mode value')  # mode: none, dynamic, fixed


def parse_loss_scale(text):
    """'dynamic', 'none' or a number >= 1 -> LossScale; ValueError otherwise."""
    text = str(text).strip().lower()
    if text in ('dynamic', 'none'):
        return LossScale(text, None)
    try:
        value = float(text)
    except ValueError:
        raise ValueError('expected dynamic, none or a number >= 1, got {!r}'.format(text))
    if not value >= 1 or value == float('inf'):
        raise ValueError('a fixed loss scale must be a finite number >= 1, got {}'.format(text))
    return LossScale('fixed', value)


def _all_finite(grads):
    return tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(g)) for g in grads]))


class _Counters(object):
    """Skipped steps (total) and the current run of consecutive skipped steps."""

    def __init__(self):
        with tf.variable_scope('loss_scaling'):
            self.skipped = tf.get_variable('skipped_steps', [], tf.int64, trainable=False,
                                           initializer=tf.zeros_initializer())
            self.streak = tf.get_variable('skipped_streak', [], tf.int64, trainable=False,
                                          initializer=tf.zeros_initializer())

    def count(self, finite):
        bad = 1 - tf.cast(finite, tf.int64)
        return tf.group(self.skipped.assign_add(bad), self.streak.assign(
            (self.streak + bad) * bad))


class NoScaling(object):
    """Plain gradients; nothing is ever skipped."""

    scale = None
    counters = None
    output_names = []

    def gradients(self, loss, var_list):
        return list(zip(tf.gradients(loss, var_list), var_list))

    def apply(self, updates):
        """``updates``: [(optimizer, [(grad, var)])] -> the op applying all of them."""
        return tf.group(*[optimizer.apply_gradients(grads) for optimizer, grads in updates])

    def outputs(self):
        return {}

    def reset_status(self):
        """An op to run before training starts, or None (see NpuScaling)."""
        return None


SCALER_OUTPUTS = ['loss_scale', 'skipped_steps', 'skipped_streak']


class InGraphScaling(NoScaling):
    """Dynamic (or fixed) loss scaling built from ordinary TensorFlow ops."""

    output_names = SCALER_OUTPUTS

    def __init__(self, init_scale=INIT_SCALE, dynamic=True, incr_every=INCR_EVERY,
                 decr_every=DECR_EVERY, decr_ratio=DECR_RATIO):
        self.dynamic = dynamic
        self.incr_every, self.decr_every, self.decr_ratio = incr_every, decr_every, decr_ratio
        with tf.variable_scope('loss_scaling'):
            self.scale = tf.get_variable('scale', [], tf.float32, trainable=False,
                                         initializer=tf.constant_initializer(init_scale))
            self.good = tf.get_variable('good_steps', [], tf.int64, trainable=False,
                                        initializer=tf.zeros_initializer())
            self.bad = tf.get_variable('bad_steps', [], tf.int64, trainable=False,
                                       initializer=tf.zeros_initializer())
        self.counters = _Counters()

    def gradients(self, loss, var_list):
        scale = self.scale.read_value()
        grads = tf.gradients(loss * scale, var_list)
        return [(g / scale if g is not None else None, v) for g, v in zip(grads, var_list)]

    def apply(self, updates):
        grads = [g for _, pairs in updates for g, _ in pairs if g is not None]
        with tf.control_dependencies(grads):
            finite = _all_finite(grads)
        applied = tf.cond(finite, lambda: NoScaling.apply(self, updates), tf.no_op)
        with tf.control_dependencies([applied]):
            return tf.group(self._update_scale(finite), self.counters.count(finite))

    def _update_scale(self, finite):
        if not self.dynamic:
            return tf.no_op()
        one = tf.constant(1, tf.int64)

        def after_finite():
            raise_now = self.good + 1 >= self.incr_every
            new_scale = tf.where(raise_now, self.scale * 2.0, self.scale)
            new_scale = tf.where(tf.is_finite(new_scale), new_scale, self.scale)
            return tf.group(self.scale.assign(new_scale),
                            self.good.assign(tf.where(raise_now, 0 * one, self.good + 1)),
                            self.bad.assign(tf.where(raise_now, 0 * one, self.bad)))

        def after_overflow():
            lower_now = self.bad + 1 >= self.decr_every
            new_scale = tf.where(lower_now, tf.maximum(1.0, self.scale * self.decr_ratio),
                                 self.scale)
            return tf.group(self.scale.assign(new_scale), self.good.assign(0 * one),
                            self.bad.assign(tf.where(lower_now, 0 * one, self.bad + 1)))

        return tf.cond(finite, after_finite, after_overflow)

    def outputs(self):
        return {'loss_scale': self.scale.read_value(),
                'skipped_steps': tf.cast(self.counters.skipped.read_value(), tf.float32),
                'skipped_streak': tf.cast(self.counters.streak.read_value(), tf.float32)}


class _Router(tf.train.Optimizer):
    """One optimizer facade over several: computes gradients as any optimizer does and routes
    each gradient to the optimizer of its variable when applying, so that one
    NPULossScaleOptimizer decides for a whole update. The optimizers are named at apply time."""

    def __init__(self):
        super(_Router, self).__init__(use_locking=False, name='Router')
        self.updates = []

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        owner = {id(v): optimizer for optimizer, pairs in self.updates for _, v in pairs}
        groups = collections.OrderedDict((id(o), (o, [])) for o, _ in self.updates)
        for g, v in grads_and_vars:
            groups[id(owner[id(v)])][1].append((g, v))
        return tf.group(*[o.apply_gradients(pairs) for o, pairs in groups.values() if pairs])


class NpuScaling(NoScaling):
    """npu_bridge's NPULossScaleOptimizer with a dynamic ExponentialUpdateLossScaleManager or
    a FixedLossScaleManager; the manager also counts the skipped steps.

    One NPULossScaleOptimizer instance serves each update: every ``gradients`` call before an
    ``apply`` goes through the instance that ``apply`` then uses. The 2020-21 adapter (v1)
    needs this: its instance reads the overflow status into the buffer that its own
    compute_gradients allocated, and a fresh instance would read a constant and never see an
    overflow. The float-status register is device-wide (since its last clear), so one read
    after all the gradients of the update covers them all, in both forms.
    """

    output_names = SCALER_OUTPUTS

    def __init__(self, npu, loss_scale):
        self.npu = npu
        self.counters = _Counters()
        counters = self.counters
        if loss_scale.mode == 'dynamic':
            base = npu.ExponentialUpdateLossScaleManager
            args = dict(init_loss_scale=INIT_SCALE, incr_every_n_steps=INCR_EVERY,
                        decr_every_n_nan_or_inf=DECR_EVERY, decr_ratio=DECR_RATIO)
        else:
            base = npu.FixedLossScaleManager
            args = dict(loss_scale=loss_scale.value)  # the 2020-21 one takes nothing else

        class CountingManager(base):
            def update_loss_scale(self, finite_grads):
                return tf.group(base.update_loss_scale(self, finite_grads),
                                counters.count(finite_grads))

        self.manager = CountingManager(**args)
        self.scale = self.manager.get_loss_scale()
        self._pending = None  # (NPULossScaleOptimizer, _Router) of the update being built

    def _instance(self):
        if self._pending is None:
            router = _Router()
            self._pending = (self.npu.NPULossScaleOptimizer(router, self.manager), router)
        return self._pending

    def gradients(self, loss, var_list):
        optimizer, _ = self._instance()
        return list(optimizer.compute_gradients(loss, var_list=var_list))

    def apply(self, updates):
        optimizer, router = self._instance()
        self._pending = None
        router.updates = list(updates)
        return optimizer.apply_gradients([pair for _, pairs in updates for pair in pairs
                                          if pair[0] is not None])

    def reset_status(self):
        """An op that clears the device's float-status register, for use before training: an
        overflow in an earlier computation (adaptation's pass over the source images) would
        otherwise skip the first step."""
        gen = self.npu.gen_ops
        if self.npu.form != 'v2':  # the ops NPULossScaleOptimizer reads the status with
            return gen.npu_clear_float_status(gen.npu_get_float_status(
                gen.npu_alloc_float_status()))
        return gen.npu_clear_float_status_v2()

    def outputs(self):
        return {'loss_scale': tf.convert_to_tensor(self.scale, tf.float32),
                'skipped_steps': tf.cast(self.counters.skipped.read_value(), tf.float32),
                'skipped_streak': tf.cast(self.counters.streak.read_value(), tf.float32)}
