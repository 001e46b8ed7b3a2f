"""MobileNetV2 Lab: a UI-free library that builds, loads, runs and measures MobileNetV2 and its peers.

Importing this package is cheap (no torch); submodules import torch when they need it.
"""

__version__ = "0.1.0"
