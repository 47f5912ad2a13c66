"""Stand-in for Ascend's npu_bridge (tests only): the parts of its API this project uses,
behaving like the real adapter at the level the project relies on, computing on the CPU."""
