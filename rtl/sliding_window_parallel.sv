// Sliding-window generator emitting a whole window per word (FINN op ConvolutionInputGenerator,
// parallel_window = 1): per output pixel and channel fold, one output word holding the K_H * K_W
// window positions (word k = kh * K_W + kw at bits [k * WIDTH, (k + 1) * WIDTH), each SIMD channels
// of fold cf). CF > 1 only for depthwise windows (the consumer takes one channel fold at a time).
//
// A window (of one channel fold) is complete when its bottom-right word arrives; its other words
// are then at fixed distances behind it. The last SPAN - 1 input words are kept in a shift
// register with a tap at each of those distances (SRLs between the taps in a 2D window's line
// buffer rows), so no memory is indexed by a computed address.
//
// Cycles per frame: one input word per cycle, IN_H * IN_W * CF. Latency: 1 cycle.
// Stalls in place while the output word waits.
module sliding_window_parallel #(
  parameter int IN_H  = 8,
  parameter int IN_W  = 1,
  parameter int K_H   = 3,
  parameter int K_W   = 1,
  parameter int S_H   = 1,
  parameter int S_W   = 1,
  parameter int D_H   = 1,
  parameter int D_W   = 1,
  parameter int OUT_H = 6,
  parameter int OUT_W = 1,
  parameter int CF    = 1,
  parameter int WIDTH = 8
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic [WIDTH-1:0]           s_axis_tdata,
  input  logic                       s_axis_tvalid,
  output logic                       s_axis_tready,
  output logic [K_H*K_W*WIDTH-1:0]   m_axis_tdata,
  output logic                       m_axis_tvalid,
  input  logic                       m_axis_tready
);
  localparam int SpanH = (K_H - 1) * D_H + 1, SpanW = (K_W - 1) * D_W + 1;
  localparam int Span = ((SpanH - 1) * IN_W + SpanW - 1) * CF + 1;   // words from a window's first to its last
  localparam int History = Span > 1 ? Span - 1 : 1;
  localparam int YBits = $clog2(IN_H + 1), XBits = $clog2(IN_W + 1), CfBits = CF > 1 ? $clog2(CF) : 1;

  logic en, step;
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;

  // Position of the incoming word, and whether its row and column end a window: rows before the
  // first window row, then every S_H-th row while window rows remain (columns alike).
  logic [YBits-1:0] row_wait_q, rows_left_q, y_q;
  logic [XBits-1:0] col_wait_q, cols_left_q, x_q;
  logic [CfBits-1:0] cf_q;
  logic window_row, window_col, end_of_pixel, end_of_row;
  assign window_row = row_wait_q == 0 && rows_left_q != 0;
  assign window_col = col_wait_q == 0 && cols_left_q != 0;
  assign end_of_pixel = cf_q == CfBits'(CF - 1);
  assign end_of_row = end_of_pixel && x_q == XBits'(IN_W - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cf_q <= '0;
      x_q <= '0;
      y_q <= '0;
      col_wait_q <= XBits'(SpanW - 1);
      cols_left_q <= XBits'(OUT_W);
      row_wait_q <= YBits'(SpanH - 1);
      rows_left_q <= YBits'(OUT_H);
    end else if (step && end_of_pixel) begin
      cf_q <= '0;
      if (end_of_row) begin
        x_q <= '0;
        col_wait_q <= XBits'(SpanW - 1);
        cols_left_q <= XBits'(OUT_W);
        if (y_q == YBits'(IN_H - 1)) begin   // end of frame
          y_q <= '0;
          row_wait_q <= YBits'(SpanH - 1);
          rows_left_q <= YBits'(OUT_H);
        end else begin
          y_q <= y_q + 1'b1;
          if (row_wait_q != 0) row_wait_q <= row_wait_q - 1'b1;
          else begin
            row_wait_q <= YBits'(S_H - 1);
            if (rows_left_q != 0) rows_left_q <= rows_left_q - 1'b1;
          end
        end
      end else begin
        x_q <= x_q + 1'b1;
        if (col_wait_q != 0) col_wait_q <= col_wait_q - 1'b1;
        else begin
          col_wait_q <= XBits'(S_W - 1);
          if (cols_left_q != 0) cols_left_q <= cols_left_q - 1'b1;
        end
      end
    end else if (step) begin
      cf_q <= cf_q + 1'b1;
    end
  end

  // history_q[d - 1] is the word d words before the incoming one.
  logic [WIDTH-1:0] history_q [History];
  always_ff @(posedge clk_i) begin
    if (step) begin
      history_q[0] <= s_axis_tdata;
      for (int i = 1; i < History; i++) history_q[i] <= history_q[i - 1];
    end
  end

  logic [K_H*K_W*WIDTH-1:0] window;
  for (genvar k = 0; k < K_H * K_W; k++) begin : g_tap
    localparam int Behind = ((K_H - 1 - k / K_W) * D_H * IN_W + (K_W - 1 - k % K_W) * D_W) * CF;
    if (Behind == 0) begin : g_incoming
      assign window[k * WIDTH +: WIDTH] = s_axis_tdata;
    end else begin : g_history
      assign window[k * WIDTH +: WIDTH] = history_q[Behind - 1];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= step && window_row && window_col;
  end
  always_ff @(posedge clk_i) if (step && window_row && window_col) m_axis_tdata <= window;
endmodule
