"""Measuring: what a model costs (counts: params, MACs, layer tables, memory), how long it takes (latency), the
paper's stage table (stages), and every recorded run with its provenance (records). probe holds what they share."""
