// Matrix-vector-activation unit (FINN op MVAU): out = act(W^T x) for every input vector x.
//
// W is MW x MH. PE output channels are computed in parallel, each over SIMD inputs per cycle, so a
// vector takes NF * SF cycles (NF = MH/PE neuron folds, SF = MW/SIMD synapse folds): FINN's
// get_exp_cycles. The SF input words of a vector (SIMD lanes of IN_BITS) are read during the first
// neuron fold and replayed from a buffer for the others. Output words carry PE lanes of OUT_BITS.
//
// Weights: word nf * SF + sf of the weight memory (in the wrapper, read latency 1, enable mem_en_o) holds
// W[sf * SIMD + s][nf * PE + pe] in lane pe * SIMD + s (W_BITS each). With THRESHOLD_STAGES > 0 the
// accumulator of channel nf * PE + pe goes through threshold_search (fold nf, lane pe); with 0 the
// accumulator itself is the output, in OUT_BITS (FINN sizes the output type to hold it).
//
// Operands: unsigned, signed (IN_SIGNED / W_SIGNED) or bipolar (FINN BIPOLAR: one bit, 1 = +1,
// 0 = -1). One bipolar operand negates or passes the other; two bipolar operands make each product
// an XNOR and the accumulator the number of agreeing bits (FINN's binaryXnorMode).
// ACC_BITS holds every accumulator value (FINN's accDataType, signed or unsigned).
//
// DSP_PACK > 1 (integer operands on DSP slices): the products of DSP_PACK neighbouring PE lanes share
// their input, so each group takes them from one multiplier (packed_multiply); 1: one per product.
//
// Cycles per vector: NF * SF, one (nf, sf) step per cycle while the input has a word in the first
// neuron fold. Latency: 3 + THRESHOLD_STAGES cycles from a vector's last input word to its first
// output word. Stalls in place while the output word waits (m_axis_tvalid && !m_axis_tready).
module mvau #(
  parameter int MW               = 8,
  parameter int MH               = 8,
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
  parameter int DSP_PACK         = 1,
  parameter int PACK_SHIFT       = 1,    // with DSP_PACK > 1: bits between two packed products
  parameter int PACKED_BITS      = 1,    // with DSP_PACK > 1: the packed weights' width
  localparam int SF              = MW / SIMD,
  localparam int NF              = MH / PE,
  localparam int WeightAddrBits  = NF * SF > 1 ? $clog2(NF * SF) : 1,
  localparam int Stages          = THRESHOLD_STAGES > 0 ? THRESHOLD_STAGES : 1,
  localparam int ThresholdAddrBits = (NF << (Stages - 1)) > 1 ? $clog2(NF << (Stages - 1)) : 1
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic [SIMD*IN_BITS-1:0]      s_axis_tdata,
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
  // Product width, and the accumulation width: it holds every accumulator value and every single
  // product, so that two's-complement sums that wrap in between still end exact.
  localparam int PW = IN_BITS + W_BITS + 2;
  localparam int AW = ACC_BITS + 1 > PW ? ACC_BITS + 1 : PW;
  localparam int SfBits = SF > 1 ? $clog2(SF) : 1;
  localparam int NfBits = NF > 1 ? $clog2(NF) : 1;

  function automatic logic signed [PW-1:0] product(logic [IN_BITS-1:0] x, logic [W_BITS-1:0] w);
    logic signed [PW-1:0] xv, wv;
    if (IN_BIPOLAR && W_BIPOLAR) return PW'(x[0] == w[0]);   // XNOR: 1 where the signs agree
    xv = IN_BIPOLAR ? (x[0] ? PW'(1) : -PW'(1))
       : IN_SIGNED  ? PW'($signed(x)) : PW'($signed({1'b0, x}));
    wv = W_BIPOLAR  ? (w[0] ? PW'(1) : -PW'(1))
       : W_SIGNED   ? PW'($signed(w)) : PW'($signed({1'b0, w}));
    return xv * wv;
  endfunction

  logic en;   // the pipeline moves unless the output word waits
  assign en = !(m_axis_tvalid && !m_axis_tready);

  // Sequencer: one (nf, sf) step per cycle; the first neuron fold takes the input words.
  logic [SfBits-1:0] sf_q;
  logic [NfBits-1:0] nf_q;
  logic step;
  assign s_axis_tready = en && nf_q == 0;
  assign step = en && (nf_q != 0 || s_axis_tvalid);
  assign mem_en_o = en;
  assign weight_addr_o = WeightAddrBits'(nf_q) * WeightAddrBits'(SF) + WeightAddrBits'(sf_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sf_q <= '0;
      nf_q <= '0;
    end else if (step) begin
      sf_q <= sf_q == SfBits'(SF - 1) ? '0 : sf_q + 1'b1;
      if (sf_q == SfBits'(SF - 1)) nf_q <= nf_q == NfBits'(NF - 1) ? '0 : nf_q + 1'b1;
    end
  end

  // Stage A: the input word (fresh in the first neuron fold, else replayed) and the weights.
  logic                    a_valid, a_first, a_last, a_fresh;
  logic [NfBits-1:0]       a_nf;
  logic [SIMD*IN_BITS-1:0] a_input, replayed, x;
  if (NF > 1) begin : g_buffer
    logic [SIMD*IN_BITS-1:0] buffer [SF];
    always_ff @(posedge clk_i) begin
      if (en) begin
        if (step && nf_q == 0) buffer[sf_q] <= s_axis_tdata;
        replayed <= buffer[sf_q];
      end
    end
  end else begin : g_no_buffer
    assign replayed = '0;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) a_valid <= 1'b0;
    else if (en) a_valid <= step;
  end
  always_ff @(posedge clk_i) begin
    if (en) begin
      a_first <= sf_q == 0;
      a_last  <= sf_q == SfBits'(SF - 1);
      a_fresh <= nf_q == 0;
      a_nf    <= nf_q;
      a_input <= s_axis_tdata;
    end
  end
  assign x = a_fresh ? a_input : replayed;

  // Stage B: each lane's dot product over SIMD inputs; products[pe][s] in lane pe * SIMD + s.
  logic [PE*SIMD*PW-1:0] products;
  if (DSP_PACK > 1) begin : g_packed
    // Signed widths of the operands
    localparam int XS = IN_SIGNED ? IN_BITS : IN_BITS + 1;
    localparam int WS = W_SIGNED ? W_BITS : W_BITS + 1;
    for (genvar group = 0; group < PE; group += DSP_PACK) begin : g_group
      localparam int Lanes = PE - group < DSP_PACK ? PE - group : DSP_PACK;
      // a last, smaller group packs fewer weights
      localparam int GroupBits = PACKED_BITS - (DSP_PACK - Lanes) * PACK_SHIFT;
      for (genvar s = 0; s < SIMD; s++) begin : g_input
        logic [Lanes*WS-1:0] w;
        logic [Lanes*PW-1:0] p;
        for (genvar lane = 0; lane < Lanes; lane++) begin : g_lane
          logic [W_BITS-1:0] weight;
          assign weight = weight_data_i[((group + lane) * SIMD + s) * W_BITS +: W_BITS];
          assign w[lane * WS +: WS] = W_SIGNED ? WS'($signed(weight)) : WS'(weight);
          assign products[((group + lane) * SIMD + s) * PW +: PW] = p[lane * PW +: PW];
        end
        packed_multiply #(
          .LANES(Lanes), .X_BITS(XS), .W_BITS(WS), .SHIFT(PACK_SHIFT), .PACKED_BITS(GroupBits), .PW(PW)
        ) u_multiply (
          .x_i(IN_SIGNED ? XS'($signed(x[s * IN_BITS +: IN_BITS])) : XS'(x[s * IN_BITS +: IN_BITS])),
          .w_i(w), .products_o(p)
        );
      end
    end
  end else begin : g_products
    for (genvar lane = 0; lane < PE * SIMD; lane++) begin : g_lane
      assign products[lane * PW +: PW] =
          product(x[(lane % SIMD) * IN_BITS +: IN_BITS], weight_data_i[lane * W_BITS +: W_BITS]);
    end
  end

  logic signed [AW-1:0] dot [PE];
  always_comb begin
    for (int pe = 0; pe < PE; pe++) begin
      logic signed [AW-1:0] sum;
      sum = '0;
      for (int s = 0; s < SIMD; s++) sum += AW'($signed(products[(pe * SIMD + s) * PW +: PW]));
      dot[pe] = sum;
    end
  end

  logic                 b_valid, b_first, b_last;
  logic [NfBits-1:0]    b_nf;
  logic signed [AW-1:0] b_dot [PE];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) b_valid <= 1'b0;
    else if (en) b_valid <= a_valid;
  end
  always_ff @(posedge clk_i) begin
    if (en) begin
      b_first <= a_first;
      b_last  <= a_last;
      b_nf    <= a_nf;
      b_dot   <= dot;
    end
  end

  // Accumulation over the synapse folds; the sum is complete in the last one.
  logic signed [AW-1:0] acc_q [PE];
  logic signed [AW-1:0] sum [PE];
  always_comb for (int pe = 0; pe < PE; pe++) sum[pe] = (b_first ? '0 : acc_q[pe]) + b_dot[pe];
  always_ff @(posedge clk_i) if (en && b_valid) acc_q <= sum;

  // Activation, then the output register.
  logic                     result_valid;
  logic [PE*OUT_BITS-1:0]   result;
  if (THRESHOLD_STAGES > 0) begin : g_thresholds
    logic [PE*CW-1:0] values;
    for (genvar pe = 0; pe < PE; pe++) begin : g_lane
      assign values[pe * CW +: CW] = CW'(sum[pe]);
    end
    threshold_search #(
      .PE(PE), .FOLDS(NF), .STAGES(THRESHOLD_STAGES), .CW(CW), .OUT_BITS(OUT_BITS), .ACT_VAL(ACT_VAL)
    ) u_thresholds (
      .clk_i, .rst_ni, .en_i(en), .valid_i(b_valid && b_last), .fold_i(b_nf), .value_i(values),
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
