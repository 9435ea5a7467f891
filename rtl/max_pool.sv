// Max pool (FINN op Pool, Function MaxPool) over the windows of a depthwise sliding window.
//
// The input is, per output pixel, CF = C/PE channel folds of KERNEL window words of PE lanes (the
// depthwise window order: word cf * KERNEL + k holds window position k of channels cf * PE ..
// cf * PE + PE - 1). So every KERNEL consecutive words make one output word: lane pe is the maximum
// of lane pe over them. Lanes are BITS wide, signed if SIGNED. A BIPOLAR lane (one bit, 1 = +1,
// 0 = -1) is an unsigned 1-bit lane: its maximum is the OR.
//
// Cycles per frame: output words * KERNEL, one input word per cycle (FINN's get_exp_cycles).
// Latency: 1 cycle from a window's last word to its output word. Stalls in place while the output
// word waits.
module max_pool #(
  parameter int PE     = 1,
  parameter int KERNEL = 4,
  parameter int BITS   = 4,
  parameter bit SIGNED = 0
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic [PE*BITS-1:0] s_axis_tdata,
  input  logic               s_axis_tvalid,
  output logic               s_axis_tready,
  output logic [PE*BITS-1:0] m_axis_tdata,
  output logic               m_axis_tvalid,
  input  logic               m_axis_tready
);
  localparam int KBits = KERNEL > 1 ? $clog2(KERNEL) : 1;

  logic en, step, last;
  logic [KBits-1:0] k_q;   // window position of the input word
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;
  assign last = k_q == KBits'(KERNEL - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) k_q <= '0;
    else if (step) k_q <= last ? '0 : k_q + 1'b1;
  end

  // The maximum so far of each lane, including the current word.
  logic [PE*BITS-1:0] best_q, best;
  for (genvar pe = 0; pe < PE; pe++) begin : g_lane
    logic [BITS-1:0] value, kept;
    logic            greater;
    assign value = s_axis_tdata[pe * BITS +: BITS];
    assign kept  = best_q[pe * BITS +: BITS];
    assign greater = SIGNED ? $signed(value) > $signed(kept) : value > kept;
    assign best[pe * BITS +: BITS] = (k_q == 0 || greater) ? value : kept;
  end

  always_ff @(posedge clk_i) if (step) best_q <= best;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= step && last;
  end
  always_ff @(posedge clk_i) if (step && last) m_axis_tdata <= best;
endmodule
