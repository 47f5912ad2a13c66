"""Stand-in for npu_bridge.estimator.npu.util (tests only): iteration offload, as the real
module does it. The loop itself is the graph engine's (npu_bridge._device)."""

import tensorflow.compat.v1 as tf

_NPU_RUNCONFIG = 'npu_runconfig'
_ITERATIONS_PER_LOOP_VAR = 'iterations_per_loop'
_LOOP_COND_VAR = 'loop_cond'
_CONST_ZERO = 'zero'
_CONST_ONE = 'one'


def check_positive_integer(value, name):
    if not isinstance(value, int):
        raise TypeError('{} must be int, got {}'.format(name, type(value)))
    if value <= 0:
        raise ValueError('{} must be positive, got {}'.format(name, value))


def create_or_get_var(var_name):
    """An int64 local variable npu_runconfig/<var_name>, colocated with the global step, also in
    the collection npu_runconfig_<var_name>."""
    graph = tf.get_default_graph()
    collection = '{}_{}'.format(_NPU_RUNCONFIG, var_name)
    found = graph.get_collection(collection)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise RuntimeError('Multiple var in collection.')
    global_step = tf.train.get_global_step()
    with tf.colocate_with(global_step, ignore_existing=global_step is None):
        with tf.variable_scope(_NPU_RUNCONFIG, reuse=tf.AUTO_REUSE):
            return tf.get_variable(var_name, initializer=tf.zeros_initializer(), shape=[],
                                   dtype=tf.int64, trainable=False,
                                   collections=[collection, tf.GraphKeys.LOCAL_VARIABLES],
                                   use_resource=True)


def _load(sess, iterations_per_loop):
    """Loads the loop variables of the default graph in ``sess``."""
    for name, value in ((_ITERATIONS_PER_LOOP_VAR, iterations_per_loop - 1), (_LOOP_COND_VAR, 0),
                        (_CONST_ZERO, 0), (_CONST_ONE, 1)):
        create_or_get_var(name).load(value, session=sess)


def set_iteration_per_loop(sess, train_op, iterations_per_loop=1):
    """``train_op`` itself when ``iterations_per_loop`` is 1; otherwise loads the loop variables
    and returns an op named IterationOp that runs ``train_op``."""
    if not isinstance(train_op, tf.Operation):
        raise ValueError("The incoming 'train_op' type is '%s', and the need type is "
                         "'Operation'" % type(train_op).__name__)
    check_positive_integer(iterations_per_loop, 'iterations_per_loop')
    if iterations_per_loop == 1:
        return train_op
    # as the real one: the variables and the op go into the default graph, whatever the
    # session's graph is (a session of another graph then cannot load them)
    _load(sess, iterations_per_loop)
    return tf.group(train_op, name='IterationOp')


class IterationPerLoop(object):
    def create_iteration_per_loop_var(self, train_op):
        if not isinstance(train_op, tf.Operation):
            raise ValueError("The incoming 'train_op' type is '%s', and the need type is "
                             "'Operation'" % type(train_op).__name__)
        for name in (_ITERATIONS_PER_LOOP_VAR, _LOOP_COND_VAR, _CONST_ZERO, _CONST_ONE):
            create_or_get_var(name)
        return tf.group(train_op, name='IterationOp')

    def load_iteration_per_loop_var(self, sess, iterations_per_loop=1):
        check_positive_integer(iterations_per_loop, 'iterations_per_loop')
        with sess.graph.as_default():
            _load(sess, iterations_per_loop)
