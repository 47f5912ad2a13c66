"""ADDA: Adversarial Discriminative Domain Adaptation (Tzeng et al., CVPR 2017) for digits.

Subpackages import TensorFlow; ``adda.data``'s parsers and ``adda.errors`` do not.
"""
__version__ = '1.0.0'
