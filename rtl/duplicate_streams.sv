// Duplicate one stream into OUTPUTS streams (FINN op DuplicateStreams): the fork in front of a
// residual branch or of a multi-branch stem.
//
// Every input word goes to every output; output i is m_axis_*[i] (its data at bits
// [i * WIDTH, (i + 1) * WIDTH)). The outputs take the word independently, each when it is ready; the
// input word is consumed in the cycle the last of them takes it, so none is lost or sent twice.
// Pass-through: the outputs' valid follow the input's valid in the same cycle, the input's ready
// follows the outputs' ready (the generated top puts a FIFO on every stream).
//
// Cycles per frame: words per frame, one word per cycle while every output is ready. Latency: 0.
module duplicate_streams #(
  parameter int WIDTH   = 8,
  parameter int OUTPUTS = 2
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic [WIDTH-1:0]         s_axis_tdata,
  input  logic                     s_axis_tvalid,
  output logic                     s_axis_tready,
  output logic [OUTPUTS*WIDTH-1:0] m_axis_tdata,
  output logic [OUTPUTS-1:0]       m_axis_tvalid,
  input  logic [OUTPUTS-1:0]       m_axis_tready
);
  logic [OUTPUTS-1:0] taken_q;   // outputs that took the current input word in an earlier cycle
  logic [OUTPUTS-1:0] done;      // ... or take it now

  assign m_axis_tdata  = {OUTPUTS{s_axis_tdata}};
  assign m_axis_tvalid = {OUTPUTS{s_axis_tvalid}} & ~taken_q;
  assign done          = taken_q | m_axis_tready;
  assign s_axis_tready = &done;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) taken_q <= '0;
    else if (s_axis_tvalid) taken_q <= s_axis_tready ? '0 : done;
  end
endmodule
