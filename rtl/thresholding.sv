// Standalone multi-threshold activation (FINN op Thresholding) of CHANNELS channels, PE per word:
//   out = ACT_VAL + #{t : in >= threshold[t]} per channel, by binary search (threshold_search.sv).
//
// Word j of a pixel carries channels j * PE .. j * PE + PE - 1 (lane pe = channel j * PE + pe), in
// IN_BITS (signed if IN_SIGNED) and out in OUT_BITS. The thresholds of channel fold j live in the
// wrapper's memories (see threshold_search), read with mem_en_o.
//
// Cycles: one word per cycle, CHANNELS / PE per pixel. Latency: THRESHOLD_STAGES + 1 cycles.
// Stalls in place while the output word waits.
module thresholding #(
  parameter int CHANNELS         = 8,
  parameter int PE               = 1,
  parameter int IN_BITS          = 8,
  parameter bit IN_SIGNED        = 0,
  parameter int THRESHOLD_STAGES = 1,
  parameter int CW               = IN_BITS + 1,
  parameter int OUT_BITS         = 4,
  parameter int ACT_VAL          = 0,
  localparam int Folds           = CHANNELS / PE,
  localparam int FoldBits        = Folds > 1 ? $clog2(Folds) : 1,
  localparam int ThresholdAddrBits = (Folds << (THRESHOLD_STAGES - 1)) > 1 ?
                                     $clog2(Folds << (THRESHOLD_STAGES - 1)) : 1
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic [PE*IN_BITS-1:0]        s_axis_tdata,
  input  logic                         s_axis_tvalid,
  output logic                         s_axis_tready,
  output logic [PE*OUT_BITS-1:0]       m_axis_tdata,
  output logic                         m_axis_tvalid,
  input  logic                         m_axis_tready,
  output logic                         mem_en_o,
  output logic [PE*THRESHOLD_STAGES*ThresholdAddrBits-1:0] threshold_addr_o,
  input  logic [PE*THRESHOLD_STAGES*CW-1:0]                threshold_data_i
);
  logic en, step;
  logic [FoldBits-1:0] fold_q;
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;
  assign mem_en_o = en;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) fold_q <= '0;
    else if (step) fold_q <= fold_q == FoldBits'(Folds - 1) ? '0 : fold_q + 1'b1;
  end

  logic [PE*CW-1:0] values;
  for (genvar pe = 0; pe < PE; pe++) begin : g_lane
    logic [IN_BITS-1:0] lane;
    assign lane = s_axis_tdata[pe * IN_BITS +: IN_BITS];
    assign values[pe * CW +: CW] = IN_SIGNED ? CW'($signed(lane)) : CW'(lane);
  end

  logic                   result_valid;
  logic [PE*OUT_BITS-1:0] result;
  threshold_search #(
    .PE(PE), .FOLDS(Folds), .STAGES(THRESHOLD_STAGES), .CW(CW), .OUT_BITS(OUT_BITS), .ACT_VAL(ACT_VAL)
  ) u_thresholds (
    .clk_i, .rst_ni, .en_i(en), .valid_i(step), .fold_i(fold_q), .value_i(values),
    .valid_o(result_valid), .data_o(result), .mem_addr_o(threshold_addr_o), .mem_data_i(threshold_data_i)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= result_valid;
  end
  always_ff @(posedge clk_i) if (en && result_valid) m_axis_tdata <= result;
endmodule
