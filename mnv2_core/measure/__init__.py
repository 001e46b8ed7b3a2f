"""Measuring: what a model costs (counts: params, MACs, layer tables, memory), how long it takes (latency), how often
it is right (accuracy), MobileNetV2 taken apart (stages), and every recorded run with its provenance (records).
probe holds what counting and timing share."""
