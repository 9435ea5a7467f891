// Reorg: space-to-depth of an NHWC feature map by BLOCK (ONNX SpaceToDepth; FINN's Shuffle node with
// perm (0, 1, 3, 2, 4, 5); MixQ's ReorgLayer), as kernels/reorg.hpp.
//
// Cycles per frame: IN_H / BLOCK * (2 * BLOCK - 1) * IN_W * CF (1.5x the input words at BLOCK 2).
// Latency: 1 cycle (the output register), after the BLOCK-1 rows a band buffers.
//
// Output pixel (Y, X) holds the BLOCK x BLOCK input pixels (BLOCK*Y + i, BLOCK*X + j), i major, each
// pixel's CF words (WIDTH bits, SIMD channels each) in order. Input rows come in bands of BLOCK: the
// first BLOCK-1 rows of a band fill a buffer of (BLOCK-1) * IN_W * CF words; then each output pixel
// takes its buffered rows' words from the buffer and its last row's BLOCK pixels straight from the
// input as they arrive. Buffer writes (filling) and reads (emitting) never share a cycle, so the
// buffer is a simple dual-port RAM with a registered read. Stalls in place while the output waits.
module reorg #(
  parameter int IN_W  = 4,
  parameter int CF    = 1,
  parameter int BLOCK = 2,
  parameter int WIDTH = 8
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
  localparam int Row = IN_W * CF;
  localparam int Buffered = (BLOCK - 1) * Row;
  localparam int OutW = IN_W / BLOCK;
  localparam int AddrBits = Buffered > 1 ? $clog2(Buffered) : 1;
  localparam int FoldBits = CF > 1 ? $clog2(CF) : 1;
  localparam int BlockBits = $clog2(BLOCK);
  localparam int XBits = OutW > 1 ? $clog2(OutW) : 1;

  logic en;                          // the output register may take a word
  assign en = !(m_axis_tvalid && !m_axis_tready);

  logic                 filling_q;   // buffering the band's first BLOCK-1 rows
  logic [AddrBits-1:0]  fill_q;      // the next buffer word to fill
  logic [FoldBits-1:0]  fold_q;      // emitting: word of the input pixel
  logic [BlockBits-1:0] j_q, i_q;    // emitting: column and row within the patch
  logic [XBits-1:0]     x_q;         // emitting: output pixel
  logic from_buffer, do_read, do_write;
  logic last_fold, last_j, last_i, last_x;
  assign from_buffer = int'(i_q) < BLOCK - 1;
  assign s_axis_tready = en && (filling_q || !from_buffer);
  assign do_read = s_axis_tready && s_axis_tvalid;
  assign do_write = en && !filling_q && (from_buffer || s_axis_tvalid);
  assign last_fold = fold_q == FoldBits'(CF - 1);
  assign last_j = j_q == BlockBits'(BLOCK - 1);
  assign last_i = i_q == BlockBits'(BLOCK - 1);
  assign last_x = x_q == XBits'(OutW - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      filling_q <= 1'b1;
      fill_q <= '0;
      fold_q <= '0;
      j_q <= '0;
      i_q <= '0;
      x_q <= '0;
    end else if (filling_q) begin
      if (do_read) begin
        fill_q <= fill_q == AddrBits'(Buffered - 1) ? '0 : fill_q + 1'b1;
        if (fill_q == AddrBits'(Buffered - 1)) filling_q <= 1'b0;
      end
    end else if (do_write) begin
      fold_q <= last_fold ? '0 : fold_q + 1'b1;
      if (last_fold) begin
        j_q <= last_j ? '0 : j_q + 1'b1;
        if (last_j) begin
          i_q <= last_i ? '0 : i_q + 1'b1;
          if (last_i) begin
            x_q <= last_x ? '0 : x_q + 1'b1;
            if (last_x) filling_q <= 1'b1;     // the band is done: buffer the next one
          end
        end
      end
    end
  end

  // Buffered word (i, BLOCK * x + j, fold) of the band
  logic [AddrBits-1:0] read_addr;
  assign read_addr = AddrBits'(int'(i_q) * Row + (BLOCK * int'(x_q) + int'(j_q)) * CF + int'(fold_q));

  logic [WIDTH-1:0] buffer [Buffered];
  logic [WIDTH-1:0] buffered_q, input_q;
  logic from_buffer_q;
  always_ff @(posedge clk_i) begin
    if (filling_q && do_read) buffer[fill_q] <= s_axis_tdata;
    if (en) begin
      buffered_q <= buffer[read_addr];
      input_q <= s_axis_tdata;
      from_buffer_q <= from_buffer;
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= do_write;
  end
  assign m_axis_tdata = from_buffer_q ? buffered_q : input_q;
endmodule
