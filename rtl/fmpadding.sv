// Zero padding of an NHWC feature map (FINN op FMPadding): IN_H x IN_W pixels in, PAD_TOP rows above,
// PAD_BOTTOM below, PAD_LEFT columns to the left and PAD_RIGHT to the right of zero pixels added.
//
// A pixel is FOLDS words of WIDTH bits (SIMD channels each, FOLDS = channels / SIMD), on the input
// and the output alike; a padding word is all zeros. Pass-through: inside the image the output shows
// the input word, on the padding a zero word is valid at once (the generated top puts a FIFO on
// every stream).
//
// Cycles per frame: (IN_H + PAD_TOP + PAD_BOTTOM) * (IN_W + PAD_LEFT + PAD_RIGHT) * FOLDS, one output
// word per cycle (FINN's get_exp_cycles). Latency: 0.
module fmpadding #(
  parameter int IN_H       = 4,
  parameter int IN_W       = 4,
  parameter int PAD_TOP    = 1,
  parameter int PAD_LEFT   = 1,
  parameter int PAD_BOTTOM = 1,
  parameter int PAD_RIGHT  = 1,
  parameter int FOLDS      = 1,
  parameter int WIDTH      = 8
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic [WIDTH-1:0] s_axis_tdata,
  input  logic             s_axis_tvalid,
  output logic             s_axis_tready,
  output logic [WIDTH-1:0] m_axis_tdata,
  output logic             m_axis_tvalid,
  input  logic             m_axis_tready
);
  localparam int OutH = IN_H + PAD_TOP + PAD_BOTTOM;
  localparam int OutW = IN_W + PAD_LEFT + PAD_RIGHT;
  localparam int YBits = OutH > 1 ? $clog2(OutH) : 1;
  localparam int XBits = OutW > 1 ? $clog2(OutW) : 1;
  localparam int FoldBits = FOLDS > 1 ? $clog2(FOLDS) : 1;

  logic [YBits-1:0]    y_q;      // output pixel row
  logic [XBits-1:0]    x_q;      // output pixel column
  logic [FoldBits-1:0] fold_q;   // word of the pixel
  logic in_image, move, last_fold, last_x;
  assign in_image = int'(y_q) >= PAD_TOP && int'(y_q) < PAD_TOP + IN_H
               && int'(x_q) >= PAD_LEFT && int'(x_q) < PAD_LEFT + IN_W;
  assign m_axis_tdata  = in_image ? s_axis_tdata : '0;
  assign m_axis_tvalid = !in_image || s_axis_tvalid;
  assign s_axis_tready = in_image && m_axis_tready;
  assign move = m_axis_tvalid && m_axis_tready;
  assign last_fold = fold_q == FoldBits'(FOLDS - 1);
  assign last_x = x_q == XBits'(OutW - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      y_q    <= '0;
      x_q    <= '0;
      fold_q <= '0;
    end else if (move) begin
      fold_q <= last_fold ? '0 : fold_q + 1'b1;
      if (last_fold) begin
        x_q <= last_x ? '0 : x_q + 1'b1;
        if (last_x) y_q <= y_q == YBits'(OutH - 1) ? '0 : y_q + 1'b1;
      end
    end
  end
endmodule
