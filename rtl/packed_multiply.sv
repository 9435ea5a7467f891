// LANES products of one operand x with LANES weights, from one multiplier (DSP slice packing).
//
// The weights are packed into one operand, w[0] + w[1] * 2^SHIFT + w[2] * 2^(2 SHIFT) + ..., so that
// x times it holds every product x * w[i] in its own field of SHIFT bits (SHIFT holds any one product,
// signed). Each product is read back from the lowest field up: a field read as signed is the product,
// and a negative one borrowed one from the fields above, which adding its sign bit back repays.
// Exact for every operand value. The caller (compiler.hwops.dsp_packing) sizes SHIFT and PACKED_BITS
// from the operand types, within the multiplier's ports (25 x 18 bits, a DSP48E1's).
//
// Combinational: no cycles, no latency of its own.
module packed_multiply #(
  parameter int LANES  = 2,
  parameter int X_BITS = 9,     // x, signed (an unsigned operand takes one bit more)
  parameter int W_BITS = 8,     // each weight, signed
  parameter int SHIFT  = X_BITS + W_BITS,
  parameter int PACKED_BITS = (LANES - 1) * SHIFT + W_BITS + 1,   // holds the packed weights, signed
  parameter int PW     = SHIFT  // width of each product output, signed
) (
  input  logic signed [X_BITS-1:0]       x_i,
  input  logic        [LANES*W_BITS-1:0] w_i,
  output logic        [LANES*PW-1:0]     products_o
);
  localparam int PackedBits = PACKED_BITS;
  localparam int FullBits   = PackedBits + X_BITS;

  logic signed [PackedBits-1:0] packed_w;
  logic signed [FullBits-1:0]   full;
  always_comb begin
    packed_w = '0;
    for (int i = 0; i < LANES; i++)
      packed_w += PackedBits'($signed(w_i[i * W_BITS +: W_BITS])) <<< (i * SHIFT);
  end
  assign full = FullBits'(x_i) * FullBits'(packed_w);

  always_comb begin
    logic signed [FullBits-1:0] rest;
    logic signed [SHIFT-1:0]    field;
    rest = full;
    for (int i = 0; i < LANES; i++) begin
      field = rest[SHIFT-1:0];
      products_o[i * PW +: PW] = PW'(field);
      rest = (rest >>> SHIFT) + FullBits'(field[SHIFT-1]);
    end
  end
endmodule
