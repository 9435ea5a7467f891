// Elementwise binary op with a constant right-hand side (FINN ElementwiseAdd/Sub/Mul/Max with
// rhs_style "const"): out[c] = in[c] OP param[c] (per channel) or in[c] OP param (a scalar).
//
// Words carry PE channels: word cf of a pixel is channels cf * PE .. cf * PE + PE - 1 (CF =
// CHANNELS/PE words per pixel), lane pe = channel cf * PE + pe, L_BITS in and OUT_BITS out. The
// constant lives in the wrapper's memory (read latency 1, enable mem_en_o): word cf holds param[cf *
// PE + pe] in lane pe (R_BITS each) when PER_CHANNEL, else its only word holds the scalar in every
// lane. Arithmetic as in elementwise_lanes.
//
// Cycles per frame: pixels * CF, one word per cycle. Latency: 2 cycles. Stalls in place while the
// output word waits.
module elementwise_const #(
  parameter string OP          = "Add",
  parameter int    CHANNELS    = 4,
  parameter int    PE          = 1,
  parameter bit    PER_CHANNEL = 1,
  parameter int    L_BITS      = 4,
  parameter bit    L_SIGNED    = 0,
  parameter int    R_BITS      = 4,
  parameter bit    R_SIGNED    = 0,
  parameter int    OUT_BITS    = 5,
  localparam int   CF          = CHANNELS / PE,
  localparam int   ParamAddrBits = PER_CHANNEL && CF > 1 ? $clog2(CF) : 1
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic [PE*L_BITS-1:0]     s_axis_tdata,
  input  logic                     s_axis_tvalid,
  output logic                     s_axis_tready,
  output logic [PE*OUT_BITS-1:0]   m_axis_tdata,
  output logic                     m_axis_tvalid,
  input  logic                     m_axis_tready,
  output logic                     mem_en_o,
  output logic [ParamAddrBits-1:0] param_addr_o,
  input  logic [PE*R_BITS-1:0]     param_data_i
);
  localparam int CfBits = CF > 1 ? $clog2(CF) : 1;

  logic en, step;
  logic [CfBits-1:0] cf_q;
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;
  assign mem_en_o = en;
  assign param_addr_o = PER_CHANNEL ? ParamAddrBits'(cf_q) : '0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) cf_q <= '0;
    else if (step) cf_q <= cf_q == CfBits'(CF - 1) ? '0 : cf_q + 1'b1;
  end

  // Stage A: the input word, beside its constants arriving from the memory.
  logic                 a_valid;
  logic [PE*L_BITS-1:0] a_input;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) a_valid <= 1'b0;
    else if (en) a_valid <= step;
  end
  always_ff @(posedge clk_i) if (en) a_input <= s_axis_tdata;

  logic [PE*OUT_BITS-1:0] result;
  elementwise_lanes #(
    .OP(OP), .PE(PE), .L_BITS(L_BITS), .L_SIGNED(L_SIGNED), .R_BITS(R_BITS), .R_SIGNED(R_SIGNED),
    .OUT_BITS(OUT_BITS)
  ) u_lanes (.lhs_i(a_input), .rhs_i(param_data_i), .result_o(result));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= a_valid;
  end
  always_ff @(posedge clk_i) if (en && a_valid) m_axis_tdata <= result;
endmodule
