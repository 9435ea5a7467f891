"""Frontend: Brevitas module -> QONNX -> streamlined FINN graph -> HW layers -> dataflow partition.

Each public function is one graph step of the build (see compiler/flow.py); they only compose
qonnx/FINN transformations. Work-arounds for known qonnx/FINN problems live in
compiler/frontend/workarounds.py, each named after the problem it fixes.
"""
from compiler.frontend.steps import (  # noqa: F401
    FLOAT_JOIN_ADVICE, FloatJoinError, UnsupportedLayerError, check_supported, convert_to_hw, create_dataflow_partition,
    insert_topk,
    minimize_bit_widths, specialize_layers, split_parent, streamline, to_finn, to_nhwc,
)
from compiler.frontend.polyphase import PolyphaseError, polyphase  # noqa: F401
from models.export import export_brevitas  # noqa: F401  (the first graph step lives with the models)
