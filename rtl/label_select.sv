// Top-K label select (FINN op LabelSelect, ONNX TopK semantics): the indices of the K largest of
// LABELS values, largest first; among equal values the lower index comes first.
//
// Input: LF = LABELS/PE words per frame, lane pe of word lf = value of label lf * PE + pe (IN_BITS,
// signed if IN_SIGNED). Output: K words per frame, the indices in OUT_BITS, largest value first.
//
// K slots hold the best values so far, sorted; every cycle the PE values of a word are inserted one
// after the other (lane 0 first, each behind the equal values already held). The last word's result
// moves to a second set of K registers that the output shifts out, while the next frame's values
// already come in: the next frame's last word waits only while indices of this frame are left.
//
// Cycles per frame: max(LF, K) (FINN's get_exp_cycles is LF). Latency: 1 cycle from a frame's last
// word to its first index.
module label_select #(
  parameter int LABELS    = 8,
  parameter int PE        = 1,
  parameter int K         = 1,
  parameter int IN_BITS   = 8,
  parameter bit IN_SIGNED = 0,
  parameter int OUT_BITS  = 8
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic [PE*IN_BITS-1:0] s_axis_tdata,
  input  logic                  s_axis_tvalid,
  output logic                  s_axis_tready,
  output logic [OUT_BITS-1:0]   m_axis_tdata,
  output logic                  m_axis_tvalid,
  input  logic                  m_axis_tready
);
  localparam int LF = LABELS / PE;
  localparam int LfBits = LF > 1 ? $clog2(LF) : 1;
  localparam int IndexBits = LABELS > 1 ? $clog2(LABELS) : 1;
  localparam int LeftBits = $clog2(K + 1);
  localparam int ValueBits = IN_BITS + 1;   // signed, holds unsigned inputs too

  logic [LfBits-1:0]   lf_q;        // word of the frame
  logic [LeftBits-1:0] left_q;      // indices of the previous frame still to send
  logic                last_word, output_free, step;
  assign last_word = lf_q == LfBits'(LF - 1);
  assign output_free = left_q == 0 || (left_q == 1 && m_axis_tready);
  assign s_axis_tready = !last_word || output_free;
  assign step = s_axis_tvalid && s_axis_tready;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) lf_q <= '0;
    else if (step) lf_q <= last_word ? '0 : lf_q + 1'b1;
  end

  // The K slots, and the slots once this word's lanes are inserted.
  logic signed [ValueBits-1:0] value_q [K], value [K];
  logic [IndexBits-1:0]        index_q [K], index [K];
  logic [K-1:0]                held_q, held;     // slot holds a label (the first word starts empty)
  always_comb begin
    logic signed [ValueBits-1:0] lane, before_value [K];
    logic [IndexBits-1:0]        before_index [K];
    logic [K-1:0]                before_held, ahead;
    value = value_q;
    index = index_q;
    held  = lf_q == 0 ? '0 : held_q;
    for (int pe = 0; pe < PE; pe++) begin
      lane = IN_SIGNED ? ValueBits'($signed(s_axis_tdata[pe * IN_BITS +: IN_BITS]))
                       : ValueBits'(s_axis_tdata[pe * IN_BITS +: IN_BITS]);
      before_value = value;
      before_index = index;
      before_held  = held;
      // The lane goes ahead of slot j when it is larger (strictly: ties stay behind) or j is empty;
      // being sorted, those slots are the last ones. They shift down by one; the first takes it.
      for (int j = 0; j < K; j++) ahead[j] = !before_held[j] || lane > before_value[j];
      for (int j = K - 1; j > 0; j--) begin
        if (ahead[j]) begin
          value[j] = ahead[j - 1] ? before_value[j - 1] : lane;
          index[j] = ahead[j - 1] ? before_index[j - 1] : IndexBits'(lf_q * PE + pe);
          held[j]  = ahead[j - 1] ? before_held[j - 1] : 1'b1;
        end
      end
      if (ahead[0]) begin
        value[0] = lane;
        index[0] = IndexBits'(lf_q * PE + pe);
        held[0]  = 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (step) begin
      value_q <= value;
      index_q <= index;
      held_q  <= held;
    end
  end

  // The output set: a frame's indices, shifted out from slot 0.
  logic [IndexBits-1:0] result_q [K];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) left_q <= '0;
    else if (step && last_word) left_q <= LeftBits'(K);
    else if (m_axis_tvalid && m_axis_tready) left_q <= left_q - 1'b1;
  end
  always_ff @(posedge clk_i) begin
    if (step && last_word) result_q <= index;
    else if (m_axis_tvalid && m_axis_tready)
      for (int j = 0; j + 1 < K; j++) result_q[j] <= result_q[j + 1];
  end
  assign m_axis_tvalid = left_q != 0;
  assign m_axis_tdata  = OUT_BITS'(result_q[0]);
endmodule
