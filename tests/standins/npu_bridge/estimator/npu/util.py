"""Stand-in for npu_bridge.estimator.npu.util: iteration offload (tests only).

``set_iteration_per_loop(sess, train_op, K)`` returns an op named IterationOp; a session run of
it performs K training iterations, as on the device (the stand-in session in npu_init repeats
the call K times on the CPU and returns the last iteration's fetches).
"""
import tensorflow.compat.v1 as tf

LOOP_OPS = {}  # (id of graph, op name) -> iterations per loop


def _runconfig_var(name):
    with tf.variable_scope('npu_runconfig', reuse=tf.AUTO_REUSE):
        return tf.get_variable(name, [], tf.int64, initializer=tf.zeros_initializer(),
                               trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES],
                               use_resource=True)


def set_iteration_per_loop(sess, train_op, iterations_per_loop=1):
    if not isinstance(train_op, tf.Operation):
        raise ValueError("The incoming 'train_op' type is not 'Operation'")
    if not isinstance(iterations_per_loop, int) or iterations_per_loop <= 0:
        raise ValueError('iterations_per_loop must be a positive int, got {!r}'.format(
            iterations_per_loop))
    if iterations_per_loop == 1:
        return train_op
    with sess.graph.as_default():
        variables = [_runconfig_var(name) for name in ('iterations_per_loop', 'loop_cond',
                                                        'zero', 'one')]
        for var, value in zip(variables, (iterations_per_loop - 1, 0, 0, 1)):
            var.load(value, session=sess)
        op = tf.group(train_op, name='IterationOp')
    LOOP_OPS[id(sess.graph), op.name] = iterations_per_loop
    return op
