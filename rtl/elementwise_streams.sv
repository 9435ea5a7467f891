// Elementwise binary op on two streams of the same shape (FINN ElementwiseAdd/Sub/Mul/Max with both
// sides "input", e.g. a residual add): out[c] = in0[c] OP in1[c].
//
// Word j of either input and of the output carries the same PE channels (L_BITS on s0, R_BITS on
// s1, OUT_BITS out, lane pe the same channel on all three). Arithmetic as in elementwise_lanes. A
// word pair is taken only when both inputs offer one.
//
// Cycles per frame: pixels * CHANNELS/PE, one word pair per cycle. Latency: 1 cycle. Stalls in
// place while the output word waits.
module elementwise_streams #(
  parameter string OP       = "Add",
  parameter int    PE       = 1,
  parameter int    L_BITS   = 4,
  parameter bit    L_SIGNED = 0,
  parameter int    R_BITS   = 4,
  parameter bit    R_SIGNED = 0,
  parameter int    OUT_BITS = 5
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic [PE*L_BITS-1:0]   s0_axis_tdata,
  input  logic                   s0_axis_tvalid,
  output logic                   s0_axis_tready,
  input  logic [PE*R_BITS-1:0]   s1_axis_tdata,
  input  logic                   s1_axis_tvalid,
  output logic                   s1_axis_tready,
  output logic [PE*OUT_BITS-1:0] m_axis_tdata,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  logic en, step;
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s0_axis_tready = en && s1_axis_tvalid;
  assign s1_axis_tready = en && s0_axis_tvalid;
  assign step = en && s0_axis_tvalid && s1_axis_tvalid;

  logic [PE*OUT_BITS-1:0] result;
  elementwise_lanes #(
    .OP(OP), .PE(PE), .L_BITS(L_BITS), .L_SIGNED(L_SIGNED), .R_BITS(R_BITS), .R_SIGNED(R_SIGNED),
    .OUT_BITS(OUT_BITS)
  ) u_lanes (.lhs_i(s0_axis_tdata), .rhs_i(s1_axis_tdata), .result_o(result));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= step;
  end
  always_ff @(posedge clk_i) if (step) m_axis_tdata <= result;
endmodule
