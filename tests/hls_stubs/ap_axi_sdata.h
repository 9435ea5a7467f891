// Test stand-in for Vitis HLS's ap_axi_sdata.h, which the open ap_types headers lack: just the
// fields of ap_axiu that the generated AXI wrapper uses, so its C simulation compiles with g++.
#pragma once
#include <ap_int.h>

template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
