// Vector-vector-activation unit (FINN op VVAU): depthwise convolution, every channel c has its own
// KERNEL weights: out[c] = act(sum_k in[k][c] * W[c][k]).
//
// Cycles per frame: pixels * CF * SF, one input word per cycle (FINN's get_exp_cycles).
// Latency: 3 + THRESHOLD_STAGES cycles from a channel fold's last input word to its output word.
// Stalls in place while the output word waits (m_axis_tvalid && !m_axis_tready).
//
// Input: per output pixel, CF = CHANNELS/PE channel folds of SF = KERNEL/SIMD words; word cf * SF + sf
// carries SIMD kernel positions of PE channels, lane s * PE + pe = position sf * SIMD + s of channel
// cf * PE + pe (IN_BITS each; FINN's VVAU layout, as a depthwise sliding window with SIMD = PE
// emits it, directly or packed by a width converter). Output: one word per channel fold, PE lanes of
// OUT_BITS, lane pe = channel cf * PE + pe.
//
// Weights: word cf * SF + sf of the weight memory (in the wrapper, read latency 1, enable mem_en_o)
// holds W[cf * PE + pe][sf * SIMD + s] in lane pe * SIMD + s (W_BITS each). With THRESHOLD_STAGES > 0
// the accumulator of channel cf * PE + pe goes through threshold_search (fold cf, lane pe); with 0
// the accumulator itself is the output, in OUT_BITS (FINN sizes the output type to hold it).
//
// Operands: unsigned, signed (IN_SIGNED / W_SIGNED) or bipolar (one bit, 1 = +1, 0 = -1). One
// bipolar operand negates or passes the other; two make each product an XNOR and the accumulator the
// number of agreeing positions (FINN's (x . w + K) / 2). ACC_BITS holds every accumulator value.
module vvau #(
  parameter int CHANNELS         = 4,
  parameter int KERNEL           = 9,
  parameter int PE               = 1,
  parameter int SIMD             = 1,
  parameter int IN_BITS          = 4,
  parameter bit IN_SIGNED        = 0,
  parameter bit IN_BIPOLAR       = 0,
  parameter int W_BITS           = 4,
  parameter bit W_SIGNED         = 1,
  parameter bit W_BIPOLAR        = 0,
  parameter int ACC_BITS         = 16,
  parameter int THRESHOLD_STAGES = 0,
  parameter int CW               = ACC_BITS + 1,   // threshold compare width (signed)
  parameter int OUT_BITS         = ACC_BITS,
  parameter int ACT_VAL          = 0,
  localparam int CF              = CHANNELS / PE,
  localparam int SF              = KERNEL / SIMD,
  localparam int WeightAddrBits  = CF * SF > 1 ? $clog2(CF * SF) : 1,
  localparam int Stages          = THRESHOLD_STAGES > 0 ? THRESHOLD_STAGES : 1,
  localparam int ThresholdAddrBits = (CF << (Stages - 1)) > 1 ? $clog2(CF << (Stages - 1)) : 1
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic [SIMD*PE*IN_BITS-1:0]   s_axis_tdata,
  input  logic                         s_axis_tvalid,
  output logic                         s_axis_tready,
  output logic [PE*OUT_BITS-1:0]       m_axis_tdata,
  output logic                         m_axis_tvalid,
  input  logic                         m_axis_tready,
  output logic                         mem_en_o,        // read enable of every memory
  output logic [WeightAddrBits-1:0]    weight_addr_o,
  input  logic [PE*SIMD*W_BITS-1:0]    weight_data_i,
  output logic [PE*Stages*ThresholdAddrBits-1:0] threshold_addr_o,
  input  logic [PE*Stages*CW-1:0]                threshold_data_i
);
  // Accumulation width: holds every accumulator value and every single product, so that
  // two's-complement sums that wrap in between still end exact.
  localparam int AW = ACC_BITS + 1 > IN_BITS + W_BITS + 2 ? ACC_BITS + 1 : IN_BITS + W_BITS + 2;
  localparam int SfBits = SF > 1 ? $clog2(SF) : 1;
  localparam int CfBits = CF > 1 ? $clog2(CF) : 1;

  function automatic logic signed [AW-1:0] product(logic [IN_BITS-1:0] x, logic [W_BITS-1:0] w);
    logic signed [AW-1:0] xv, wv;
    if (IN_BIPOLAR && W_BIPOLAR) return AW'(x[0] == w[0]);   // XNOR: 1 where the signs agree
    xv = IN_BIPOLAR ? (x[0] ? AW'(1) : -AW'(1))
       : IN_SIGNED  ? AW'($signed(x)) : AW'($signed({1'b0, x}));
    wv = W_BIPOLAR  ? (w[0] ? AW'(1) : -AW'(1))
       : W_SIGNED   ? AW'($signed(w)) : AW'($signed({1'b0, w}));
    return xv * wv;
  endfunction

  logic en;   // the pipeline moves unless the output word waits
  assign en = !(m_axis_tvalid && !m_axis_tready);

  // Sequencer: one input word per cycle, (cf, sf) its place in the pixel.
  logic [SfBits-1:0] sf_q;
  logic [CfBits-1:0] cf_q;
  logic step;
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;
  assign mem_en_o = en;
  assign weight_addr_o = WeightAddrBits'(cf_q) * WeightAddrBits'(SF) + WeightAddrBits'(sf_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sf_q <= '0;
      cf_q <= '0;
    end else if (step) begin
      sf_q <= sf_q == SfBits'(SF - 1) ? '0 : sf_q + 1'b1;
      if (sf_q == SfBits'(SF - 1)) cf_q <= cf_q == CfBits'(CF - 1) ? '0 : cf_q + 1'b1;
    end
  end

  // Stage A: the input word, beside its weights arriving from the memory.
  logic                       a_valid, a_first, a_last;
  logic [CfBits-1:0]          a_cf;
  logic [SIMD*PE*IN_BITS-1:0] a_input;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) a_valid <= 1'b0;
    else if (en) a_valid <= step;
  end
  always_ff @(posedge clk_i) begin
    if (en) begin
      a_first <= sf_q == 0;
      a_last  <= sf_q == SfBits'(SF - 1);
      a_cf    <= cf_q;
      a_input <= s_axis_tdata;
    end
  end

  // Stage B: each channel's dot product over the SIMD positions of the word.
  logic signed [AW-1:0] dot [PE];
  always_comb begin
    for (int pe = 0; pe < PE; pe++) begin
      dot[pe] = '0;
      for (int s = 0; s < SIMD; s++)
        dot[pe] += product(a_input[(s * PE + pe) * IN_BITS +: IN_BITS],
                           weight_data_i[(pe * SIMD + s) * W_BITS +: W_BITS]);
    end
  end

  logic                 b_valid, b_first, b_last;
  logic [CfBits-1:0]    b_cf;
  logic signed [AW-1:0] b_dot [PE];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) b_valid <= 1'b0;
    else if (en) b_valid <= a_valid;
  end
  always_ff @(posedge clk_i) begin
    if (en) begin
      b_first <= a_first;
      b_last  <= a_last;
      b_cf    <= a_cf;
      b_dot   <= dot;
    end
  end

  // Accumulation over the kernel words of a channel fold; the sum is complete in the last one.
  logic signed [AW-1:0] acc_q [PE];
  logic signed [AW-1:0] sum [PE];
  always_comb for (int pe = 0; pe < PE; pe++) sum[pe] = (b_first ? '0 : acc_q[pe]) + b_dot[pe];
  always_ff @(posedge clk_i) if (en && b_valid) acc_q <= sum;

  // Activation, then the output register.
  logic                   result_valid;
  logic [PE*OUT_BITS-1:0] result;
  if (THRESHOLD_STAGES > 0) begin : g_thresholds
    logic [PE*CW-1:0] values;
    for (genvar pe = 0; pe < PE; pe++) begin : g_lane
      assign values[pe * CW +: CW] = CW'(sum[pe]);
    end
    threshold_search #(
      .PE(PE), .FOLDS(CF), .STAGES(THRESHOLD_STAGES), .CW(CW), .OUT_BITS(OUT_BITS), .ACT_VAL(ACT_VAL)
    ) u_thresholds (
      .clk_i, .rst_ni, .en_i(en), .valid_i(b_valid && b_last), .fold_i(b_cf), .value_i(values),
      .valid_o(result_valid), .data_o(result),
      .mem_addr_o(threshold_addr_o), .mem_data_i(threshold_data_i)
    );
  end else begin : g_accumulator
    assign result_valid = b_valid && b_last;
    for (genvar pe = 0; pe < PE; pe++) begin : g_lane
      assign result[pe * OUT_BITS +: OUT_BITS] = OUT_BITS'(sum[pe]);
    end
    assign threshold_addr_o = '0;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= result_valid;
  end
  always_ff @(posedge clk_i) if (en && result_valid) m_axis_tdata <= result;
endmodule
