"""Stand-in for npu_bridge.helper.helper (tests only)."""


def get_gen_ops():
    from npu_bridge import _gen_npu_ops
    return _gen_npu_ops
