"""Small Brevitas networks, one per graph pattern the model zoo needs (residual add, multi-branch
concat, 2D convs with pooled quantizers), each built by tests/test_patterns.py through the whole flow."""
