// Channel concatenation of INPUTS streams (FINN op StreamingConcat): per pixel, the FOLDS[0] words
// of input 0, then the FOLDS[1] words of input 1, ... (FOLDS[i] = channels of input i / SIMD; a
// packed array, FOLDS[0] in the lowest 32 bits: Verilator takes no parameter-sized unpacked pattern).
//
// Every input and the output carry SIMD channels per word in WIDTH bits: the wrapper widens each
// input's elements to the output type. Input i is s_axis_*[i] (its data at bits [i * WIDTH,
// (i + 1) * WIDTH)). Pass-through: the output shows the word of the input whose turn it is, that
// input's ready is the output's ready (the generated top puts a FIFO on every stream).
//
// Cycles per frame: pixels * (FOLDS[0] + FOLDS[1] + ...), one word per cycle (FINN's
// get_exp_cycles). Latency: 0.
module concat #(
  parameter int INPUTS        = 2,
  parameter int WIDTH         = 8,
  parameter bit [INPUTS-1:0][31:0] FOLDS = {INPUTS{32'd1}}
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic [INPUTS*WIDTH-1:0] s_axis_tdata,
  input  logic [INPUTS-1:0]       s_axis_tvalid,
  output logic [INPUTS-1:0]       s_axis_tready,
  output logic [WIDTH-1:0]        m_axis_tdata,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready
);
  function automatic int most_folds();
    int most = 1;
    for (int i = 0; i < INPUTS; i++) if (int'(FOLDS[i]) > most) most = int'(FOLDS[i]);
    return most;
  endfunction

  localparam int InputBits = INPUTS > 1 ? $clog2(INPUTS) : 1;
  localparam int FoldBits = most_folds() > 1 ? $clog2(most_folds()) : 1;

  logic [InputBits-1:0] input_q;   // the input whose turn it is
  logic [FoldBits-1:0]  fold_q;    // its word within the pixel
  logic                 move, last_fold;
  assign m_axis_tdata  = s_axis_tdata[input_q * WIDTH +: WIDTH];
  assign m_axis_tvalid = s_axis_tvalid[input_q];
  assign s_axis_tready = INPUTS'(m_axis_tready) << input_q;
  assign move = m_axis_tvalid && m_axis_tready;
  assign last_fold = fold_q == FoldBits'(FOLDS[input_q] - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      input_q <= '0;
      fold_q  <= '0;
    end else if (move) begin
      fold_q <= last_fold ? '0 : fold_q + 1'b1;
      if (last_fold) input_q <= input_q == InputBits'(INPUTS - 1) ? '0 : input_q + 1'b1;
    end
  end
endmodule
