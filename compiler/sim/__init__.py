"""cppsim: the whole dataflow compiled with g++ into one binary that streams many frames."""
from compiler.sim.cppsim import CppSim, CppSimError, ap_types_include_dir  # noqa: F401
