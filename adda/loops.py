"""How training steps are run: K steps per session call, in a graph loop or on the device.

A loop is built from ``step_fn(step_index) -> (outputs, update_op)``, where outputs are scalar
tensors by name; ``run(sess, n)`` runs n steps and returns ``[(last_step_offset, span,
values)]``: the values of each step the host gets to see, the offset (from the first step of
the call) of the step they belong to, and how many steps that record stands for.

- ``GraphLoop`` (CPU, GPU): a tf.while_loop runs up to K steps per call and returns every
  step's values, so logs, NaN checks and snapshots see each step.
- ``DeviceLoop`` (Ascend NPU): a plain single-step graph with static shapes; npu_bridge's
  iteration offload (``iterations_per_loop`` = K, ``util.set_iteration_per_loop``) repeats it
  K times on the device per session call. The host sees the last step's values of each call.
"""
from collections import OrderedDict

from adda.compat import tf


class GraphLoop(object):
    """Up to ``steps_per_run`` steps per session call in a tf.while_loop."""

    def __init__(self, steps_per_run):
        self.steps_per_run = steps_per_run
        self.whole_calls = False  # a call may run fewer than K steps

    def build(self, step_fn, names, global_step):
        """``names``: the outputs of step_fn, in order; returns the fetchable outputs."""
        self.num_steps = tf.placeholder_with_default(
            tf.constant(self.steps_per_run, tf.int32), [], name='num_steps')
        start = global_step.read_value()

        def body(i, arrays):
            outputs, update = step_fn(start + tf.cast(i, tf.int64))
            with tf.control_dependencies([update]):
                return i + 1, [a.write(i, tf.cast(outputs[name], tf.float32))
                               for a, name in zip(arrays, names)]

        arrays = [tf.TensorArray(tf.float32, size=self.num_steps) for _ in names]
        _, arrays = tf.while_loop(lambda i, _: i < self.num_steps, body,
                                  [tf.constant(0), arrays], parallel_iterations=1,
                                  name='steps')
        stacked = [a.stack() for a in arrays]
        with tf.control_dependencies(stacked):
            advance = global_step.assign_add(tf.cast(self.num_steps, tf.int64))
        with tf.control_dependencies([advance]):
            self.outputs = OrderedDict((name, tf.identity(s, name=name))
                                       for name, s in zip(names, stacked))
        return self.outputs

    def start(self, sess):
        pass

    def run(self, sess, n):
        values = sess.run(self.outputs, {self.num_steps: n})
        return [(j, 1, OrderedDict((k, v[j]) for k, v in values.items())) for j in range(n)]


class DeviceLoop(object):
    """One static step per iteration; the NPU repeats it ``steps_per_run`` times per call."""

    def __init__(self, steps_per_run, npu):
        self.steps_per_run = steps_per_run
        self.whole_calls = True  # every call runs exactly K steps
        self.npu = npu

    def build(self, step_fn, names, global_step):
        outputs, update = step_fn(global_step.read_value())
        with tf.control_dependencies([update]):
            self.train_op = global_step.assign_add(1).op
        self.outputs = OrderedDict((name, tf.identity(outputs[name], name=name))
                                   for name in names)
        return self.outputs

    def start(self, sess):
        """Hand the step to the adapter's iteration offload (after the variables exist). The
        adapter puts its loop variables into the default graph: the session's, here."""
        with sess.graph.as_default():
            self.loop_op = self.npu.util.set_iteration_per_loop(sess, self.train_op,
                                                                self.steps_per_run)

    def run(self, sess, n):
        if n != self.steps_per_run:
            raise ValueError('the NPU loop runs {} steps per call, not {}'.format(
                self.steps_per_run, n))
        _, values = sess.run([self.loop_op, self.outputs])
        return [(n - 1, n, values)]
