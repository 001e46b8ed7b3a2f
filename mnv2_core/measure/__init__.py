"""Measuring: what a model costs (counts: params, MACs, layer tables; memory: activation memory), how long it takes
(latency), how often it is right (accuracy), MobileNetV2 taken apart (stages), every recorded run with its provenance
(records) and one run shaped for reading (run_report). probe holds what counting and timing share."""
