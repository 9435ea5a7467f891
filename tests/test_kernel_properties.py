"""Property-based sweep over legal foldings: our HLS kernels (their C-simulation shortcuts and their
synthesizable loops) and our RTL modules equal FINN's execution for any of them, and the RTL takes
the stated cycles per frame."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.hwgraphs import chain, depthwise_conv, layer, mvau, random_values, sorted_thresholds
from test_kernels import check
from test_rtl import check_rtl

# Every example compiles a cppsim binary or a Verilated model (2-4 s): a few examples, no deadline.
SWEEP = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SIMULATORS = ["cppsim", "cppsim_synth", "rtlsim"]


def simulate(simulator, model, tmp_path, input_dtype):
    if simulator == "rtlsim":
        check_rtl(model, tmp_path, input_dtype, frames=3)
    else:
        check(model, tmp_path, input_dtype, synth=simulator == "cppsim_synth")


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def folded(draw, total):
    """A legal fold of `total`: one of its divisors."""
    return draw(st.sampled_from(divisors(total)))


@pytest.mark.parametrize("simulator", SIMULATORS)
@SWEEP
@given(data=st.data(), mw=st.sampled_from([4, 6, 12, 18]), mh=st.sampled_from([2, 6, 8]),
       idt=st.sampled_from(["UINT2", "INT4", "UINT8"]), wdt=st.sampled_from(["INT2", "INT4", "INT8"]),
       activation=st.booleans())
def test_mvau_any_legal_folding(tmp_path_factory, simulator, data, mw, mh, idt, wdt, activation):
    simd, pe = data.draw(folded(mw)), data.draw(folded(mh))
    rng = np.random.default_rng(mw * mh + simd * 7 + pe)
    thresholds = sorted_thresholds(rng, mh, 3, -100, 100) if activation else None
    extra = {"outputDataType": "UINT2"} if activation else {"outputDataType": "INT24"}
    model = chain(mvau("fc", mw, mh, vecs=(1, 2, 1), idt=idt, wdt=wdt, thresholds=thresholds, SIMD=simd, PE=pe,
                       **extra))
    model.set_initializer("fc_w", random_values(rng, wdt, (mw, mh)))
    simulate(simulator, model, tmp_path_factory.mktemp("mvau"), idt)


@pytest.mark.parametrize("simulator", SIMULATORS)
@SWEEP
@given(data=st.data(), channels=st.sampled_from([1, 2, 4, 6]), k=st.integers(1, 4), stride=st.integers(1, 3),
       dilation=st.integers(1, 2), extra=st.integers(0, 3), depthwise=st.booleans(), two_d=st.booleans(),
       parallel=st.booleans())
def test_sliding_window_any_legal_folding(tmp_path_factory, simulator, data, channels, k, stride, dilation, extra,
                                          depthwise, two_d, parallel):
    # A parallel window holds all channels in a word unless depthwise.
    simd = channels if parallel and not depthwise else data.draw(folded(channels))
    span = (k - 1) * dilation + 1
    size = max(span + extra, stride)     # FINN: stride <= feature map size
    out = (size - span) // stride + 1
    dims = ([size, size], [out, out], [k, k], [stride, stride], [dilation, dilation]) if two_d else \
        ([size, 1], [out, 1], [k, 1], [stride, 1], [dilation, 1])
    model = chain(layer("ConvolutionInputGenerator_rtl", "swg", IFMDim=dims[0], OFMDim=dims[1], ConvKernelDim=dims[2],
                        Stride=dims[3], Dilation=dims[4], IFMChannels=channels, SIMD=simd, depthwise=int(depthwise),
                        parallel_window=int(parallel), inputDataType="INT3", outputDataType="INT3"))
    simulate(simulator, model, tmp_path_factory.mktemp("swg"), "INT3")


@pytest.mark.parametrize("simulator", SIMULATORS)
@SWEEP
@given(data=st.data(), channels=st.sampled_from([2, 4, 6]), k=st.integers(1, 4), two_d=st.booleans(),
       parallel=st.booleans(), idt=st.sampled_from(["INT4", "UINT1", "UINT8"]), activation=st.booleans())
def test_vvau_any_legal_folding(tmp_path_factory, simulator, data, channels, k, two_d, parallel, idt, activation):
    kernel = [k, 2] if two_d else [k, 1]
    pe, simd = data.draw(folded(channels)), data.draw(folded(kernel[0] * kernel[1]))
    if (kernel[0] * kernel[1] if parallel else 1) != simd:
        # A width converter sits between window and VVAU; FINN's VVAU execution reads its input in
        # the window's interleaved order only when the window feeds it directly, unless PE = Channels.
        pe = channels
    rng = np.random.default_rng(channels * 10 + k)
    ifm = [k + 3, 4] if two_d else [k + 3, 1]
    model = chain(*depthwise_conv("dw", rng, ifm, kernel, channels, pe, simd, int(parallel), idt, "INT3", activation))
    simulate(simulator, model, tmp_path_factory.mktemp("vvau"), idt)
