// Sliding-window generator (FINN op ConvolutionInputGenerator, parallel_window = 0): turns an NHWC
// feature map into the stream of convolution windows that a matrix-vector unit consumes.
//
// Words carry SIMD channels (WIDTH bits); a pixel is CF = C/SIMD words. For every output pixel the
// window is emitted as
//   standard  (DEPTHWISE = 0): for kh, for kw, for cf   (kernel position major, as the MVAU reads it)
//   depthwise (DEPTHWISE = 1): for cf, for kh, for kw   (channel fold major, as the VVAU and Pool read it)
//
// Input words are kept in a circular buffer of BUF words (a power of two >= the window span plus
// one stride of input, so that reading continues while a window is written) by their index in the
// frame. Each cycle, at most one input word is read and one window word written: the next input
// word is read if its slot is free (the word it replaces lies before the current window) and the
// next window word is written if it has been read (in this cycle, through a bypass, or earlier).
// A frame ends when all its input is read and all its windows are written; the next one starts in
// the following cycle.
//
// Cycles per frame: the count of that schedule, at least max(input words, window words);
// compiler/estimate/cycles.py computes it. Latency: 1 cycle from reading a word to writing it.
// Stalls in place while the output word waits.
module sliding_window #(
  parameter int IN_H      = 8,
  parameter int IN_W      = 1,
  parameter int K_H       = 3,
  parameter int K_W       = 1,
  parameter int S_H       = 1,
  parameter int S_W       = 1,
  parameter int D_H       = 1,
  parameter int D_W       = 1,
  parameter int OUT_H     = 6,
  parameter int OUT_W     = 1,
  parameter int CF        = 1,
  parameter bit DEPTHWISE = 0,
  parameter int WIDTH     = 8,
  parameter int BUF       = 16
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
  localparam int Reads  = IN_H * IN_W * CF;
  localparam int Writes = OUT_H * OUT_W * K_H * K_W * CF;
  localparam int Bits   = $clog2((Reads > Writes ? Reads : Writes) + BUF + 1);
  localparam int BufBits = BUF > 1 ? $clog2(BUF) : 1;
  // The window's words in emission order: counters c0 (innermost) .. c2 of n0 .. n2 values, each
  // step moving the word offset within the window by step0 .. step2.
  localparam int RowStep = D_H * IN_W * CF, ColStep = D_W * CF;
  localparam int N0 = DEPTHWISE ? K_W : CF, Step0 = DEPTHWISE ? ColStep : 1;
  localparam int N1 = DEPTHWISE ? K_H : K_W, Step1 = DEPTHWISE ? RowStep : ColStep;
  localparam int N2 = DEPTHWISE ? CF : K_H, Step2 = DEPTHWISE ? 1 : RowStep;
  localparam int C0Bits = N0 > 1 ? $clog2(N0) : 1;
  localparam int C1Bits = N1 > 1 ? $clog2(N1) : 1;
  localparam int C2Bits = N2 > 1 ? $clog2(N2) : 1;
  localparam int OxBits = OUT_W > 1 ? $clog2(OUT_W) : 1;

  logic en;
  assign en = !(m_axis_tvalid && !m_axis_tready);

  logic [Bits-1:0] read_q, written_q, origin_q, row_origin_q, offset_q, needed;
  logic [C0Bits-1:0] c0_q;
  logic [C1Bits-1:0] c1_q;
  logic [C2Bits-1:0] c2_q;
  logic [OxBits-1:0] ox_q;
  logic can_read, do_read, do_write, bypass;

  assign needed = origin_q + offset_q;
  assign can_read = read_q < Bits'(Reads) && (written_q == Bits'(Writes) || read_q < origin_q + Bits'(BUF));
  assign s_axis_tready = en && can_read;
  assign do_read = s_axis_tready && s_axis_tvalid;
  assign bypass = needed == read_q;
  assign do_write = en && written_q < Bits'(Writes) && (needed < read_q || (bypass && do_read));

  // Next window word: the innermost counter first; after a window's last word, the next window.
  logic last0, last1, last2, frame_done;
  assign last0 = c0_q == C0Bits'(N0 - 1);
  assign last1 = c1_q == C1Bits'(N1 - 1);
  assign last2 = c2_q == C2Bits'(N2 - 1);
  assign frame_done = read_q + Bits'(do_read) == Bits'(Reads) && written_q + Bits'(do_write) == Bits'(Writes);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      read_q <= '0;
      written_q <= '0;
      origin_q <= '0;
      row_origin_q <= '0;
      offset_q <= '0;
      c0_q <= '0;
      c1_q <= '0;
      c2_q <= '0;
      ox_q <= '0;
    end else if (frame_done) begin
      read_q <= '0;
      written_q <= '0;
      origin_q <= '0;
      row_origin_q <= '0;
      offset_q <= '0;
      c0_q <= '0;
      c1_q <= '0;
      c2_q <= '0;
      ox_q <= '0;
    end else begin
      read_q <= read_q + Bits'(do_read);
      if (do_write) begin
        written_q <= written_q + 1'b1;
        c0_q <= last0 ? '0 : c0_q + 1'b1;
        if (!last0) begin
          offset_q <= offset_q + Bits'(Step0);
        end else if (!last1) begin
          c1_q <= c1_q + 1'b1;
          offset_q <= offset_q + Bits'(Step1 - (N0 - 1) * Step0);
        end else if (!last2) begin
          c1_q <= '0;
          c2_q <= c2_q + 1'b1;
          offset_q <= offset_q + Bits'(Step2 - (N1 - 1) * Step1 - (N0 - 1) * Step0);
        end else begin                     // the window is complete: on to the next output pixel
          c1_q <= '0;
          c2_q <= '0;
          offset_q <= '0;
          if (ox_q == OxBits'(OUT_W - 1)) begin
            ox_q <= '0;
            origin_q <= row_origin_q + Bits'(S_H * IN_W * CF);
            row_origin_q <= row_origin_q + Bits'(S_H * IN_W * CF);
          end else begin
            ox_q <= ox_q + 1'b1;
            origin_q <= origin_q + Bits'(S_W * CF);
          end
        end
      end
    end
  end

  // The buffer, and the output word: read from the buffer, or the input word of this cycle.
  logic [WIDTH-1:0] buffer [BUF];
  logic [WIDTH-1:0] buffered_q, input_q;
  logic bypass_q;
  always_ff @(posedge clk_i) begin
    if (do_read) buffer[read_q[BufBits-1:0]] <= s_axis_tdata;
    if (en) begin
      buffered_q <= buffer[needed[BufBits-1:0]];
      input_q <= s_axis_tdata;
      bypass_q <= bypass;
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= do_write;
  end
  assign m_axis_tdata = bypass_q ? input_q : buffered_q;
endmodule
