// Multi-threshold activation of PE lanes by binary search (FINN's MultiThreshold semantics):
//   out = ACT_VAL + #{t : value >= threshold[t]}
// over a channel's thresholds, ascending and padded to 2^STAGES - 1 with values above any input.
//
// Stage s finds bit STAGES-1-s of the count c: it compares the value with the channel's threshold
// number c_s * 2^(STAGES-s) + 2^(STAGES-s-1) - 1, where c_s holds the s bits found so far. That
// threshold is entry fold * 2^s + c_s of the lane's memory for stage s (fold: the channel fold the
// value belongs to, channel = fold * PE + lane). The memories sit in the layer's wrapper, one per
// lane and stage (depth FOLDS * 2^s, CW bits, synchronous read, read enable en_i), so that each
// stage compares against a memory word instead of against all 2^STAGES - 1 thresholds at once.
//
// Values and thresholds are CW-bit signed. One value per lane per cycle; the result leaves
// STAGES cycles after the value enters (valid_o, data_o combinational from the last stage). The
// pipeline moves only while en_i is high.
module threshold_search #(
  parameter int PE       = 1,
  parameter int FOLDS    = 1,
  parameter int STAGES   = 1,
  parameter int CW       = 16,
  parameter int OUT_BITS = 4,
  parameter int ACT_VAL  = 0,
  localparam int FoldBits = FOLDS > 1 ? $clog2(FOLDS) : 1,
  localparam int AddrBits = (FOLDS << (STAGES - 1)) > 1 ? $clog2(FOLDS << (STAGES - 1)) : 1
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,
  input  logic                         en_i,
  input  logic                         valid_i,
  input  logic [FoldBits-1:0]          fold_i,
  input  logic [PE*CW-1:0]             value_i,
  output logic                         valid_o,
  output logic [PE*OUT_BITS-1:0]       data_o,
  // memory of (lane pe, stage s) at index pe * STAGES + s
  output logic [PE*STAGES*AddrBits-1:0] mem_addr_o,
  input  logic [PE*STAGES*CW-1:0]       mem_data_i
);
  logic                  valid_q [STAGES];
  logic [FoldBits-1:0]   fold_q  [STAGES];
  logic signed [CW-1:0]  value_q [STAGES][PE];
  logic [STAGES-1:0]     count_q [STAGES][PE];   // stage s: the top s bits of the count, right-aligned
  logic [STAGES-1:0]     count_next [STAGES][PE];

  for (genvar pe = 0; pe < PE; pe++) begin : g_lane
    for (genvar s = 0; s < STAGES; s++) begin : g_stage
      logic signed [CW-1:0] threshold;
      assign threshold = mem_data_i[(pe * STAGES + s) * CW +: CW];
      assign count_next[s][pe] = (count_q[s][pe] << 1) | STAGES'(value_q[s][pe] >= threshold);
    end
    // Stage 0 reads entry `fold`; stage s+1 entry fold * 2^(s+1) + the count so far.
    assign mem_addr_o[pe * STAGES * AddrBits +: AddrBits] = AddrBits'(fold_i);
    for (genvar s = 1; s < STAGES; s++) begin : g_addr
      assign mem_addr_o[(pe * STAGES + s) * AddrBits +: AddrBits] =
          AddrBits'((AddrBits'(fold_q[s - 1]) << s) | AddrBits'(count_next[s - 1][pe]));
    end
    assign data_o[pe * OUT_BITS +: OUT_BITS] = OUT_BITS'(ACT_VAL + int'(count_next[STAGES - 1][pe]));
  end
  assign valid_o = valid_q[STAGES - 1];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int s = 0; s < STAGES; s++) valid_q[s] <= 1'b0;
    end else if (en_i) begin
      valid_q[0] <= valid_i;
      for (int s = 1; s < STAGES; s++) valid_q[s] <= valid_q[s - 1];
    end
  end

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      fold_q[0] <= fold_i;
      for (int pe = 0; pe < PE; pe++) begin
        value_q[0][pe] <= value_i[pe * CW +: CW];
        count_q[0][pe] <= '0;
      end
      for (int s = 1; s < STAGES; s++) begin
        fold_q[s] <= fold_q[s - 1];
        for (int pe = 0; pe < PE; pe++) begin
          value_q[s][pe] <= value_q[s - 1][pe];
          count_q[s][pe] <= count_next[s - 1][pe];
        end
      end
    end
  end
endmodule
