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

}  // namespace dfk
