// The products of the MAC kernels (mvau.hpp, vvau.hpp): element types, bipolar operands, and the
// multiplier FINN's resType asks for.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

// FINN's BIPOLAR element type {-1, +1}, one bit: 1 is +1, 0 is -1.
struct bipolar {
    static const int width = 1;
};

// How an element type is stored in its bits, and its value.
template <typename T> struct element {
    typedef T stored;
    static T value(const stored& bits) { return bits; }
};
template <> struct element<bipolar> {
    typedef ap_uint<1> stored;
    static ap_int<2> value(const stored& bit) { return bit ? 1 : -1; }
};

// Where a multiplication is built: in LUTs or on DSP slices (as FINN's estimate counts it, resType).
enum multiplier { mul_lut, mul_dsp };

// One lane's contribution to the accumulator. A bipolar operand negates or passes the other, so
// only two integer operands make a multiplier; two bipolar ones make an XNOR (1 where the bits
// agree: FINN's binaryXnorMode popcount).
template <typename TI, typename TW, multiplier MUL> struct product {
    typedef ap_int<TI::width + TW::width + 1> type;
    static type of(const TI& x, const TW& w) {
#pragma HLS INLINE
        // MUL is a constant: one branch is built. A pragma takes no template argument, hence two.
        if (MUL == mul_dsp) {
            const type p = x * w;
#pragma HLS BIND_OP variable = p op = mul impl = dsp
            return p;
        }
        const type p = x * w;
#pragma HLS BIND_OP variable = p op = mul impl = fabric
        return p;
    }
};
template <typename TW, multiplier MUL> struct product<bipolar, TW, MUL> {
    typedef ap_int<TW::width + 1> type;
    static type of(const ap_uint<1>& x, const TW& w) { return x ? type(w) : type(-w); }
};
template <typename TI, multiplier MUL> struct product<TI, bipolar, MUL> {
    typedef ap_int<TI::width + 1> type;
    static type of(const TI& x, const ap_uint<1>& w) { return w ? type(x) : type(-x); }
};
template <multiplier MUL> struct product<bipolar, bipolar, MUL> {
    typedef ap_uint<1> type;
    static type of(const ap_uint<1>& x, const ap_uint<1>& w) { return x == w; }
};

// LANES products x * w[i] of one input from one DSP multiplier (hwops.dsp_packing; the RTL's
// packed_multiply.sv). The weights are packed SHIFT bits apart, w[0] + w[1] 2^SHIFT + ..., SHIFT
// holding any one signed product and PACKED the packed weights; each product is read back from the
// lowest field up, and a negative one borrowed one from the fields above, which adding its sign bit
// back repays. Exact.
template <unsigned LANES, int XS, int WS, int SHIFT, int PACKED> struct packed_product {
    typedef ap_int<SHIFT> type;
    static void of(const ap_int<XS>& x, const ap_int<WS> w[LANES], type p[LANES]) {
#pragma HLS INLINE
        ap_int<PACKED> packed = 0;
        for (unsigned i = 0; i < LANES; i++) {
#pragma HLS UNROLL
            packed += ap_int<PACKED>(w[i]) << (i * SHIFT);
        }
        ap_int<PACKED + XS> full = x * packed;
#pragma HLS BIND_OP variable = full op = mul impl = dsp
        for (unsigned i = 0; i < LANES; i++) {
#pragma HLS UNROLL
            const ap_int<SHIFT> field = full(SHIFT - 1, 0);
            p[i] = field;
            full = (full >> SHIFT) + ap_int<PACKED + XS>(field[SHIFT - 1]);
        }
    }
};

}  // namespace dfk
