// Global accumulating pool (FINN op GlobalAccPool): the sum of every channel over the PIXELS pixels
// of a frame.
//
// Input: per pixel CF = CHANNELS/PE words, word cf carrying channels cf * PE .. cf * PE + PE - 1
// (IN_BITS, signed if IN_SIGNED). Output: CF words per frame, word cf the sums of those channels in
// OUT_BITS (FINN's output type holds every sum). A fold's sum leaves with its last pixel's word
// (unlike the HLS kernel, no separate output phase).
//
// Cycles per frame: PIXELS * CF, one input word per cycle (FINN's get_exp_cycles adds CF for the
// HLS output phase). Latency: 1 cycle from the last pixel's word of a fold to its output word.
// Stalls in place while the output word waits.
module global_acc_pool #(
  parameter int CHANNELS  = 4,
  parameter int PE        = 1,
  parameter int PIXELS    = 4,
  parameter int IN_BITS   = 4,
  parameter bit IN_SIGNED = 0,
  parameter int OUT_BITS  = 8
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic [PE*IN_BITS-1:0]  s_axis_tdata,
  input  logic                   s_axis_tvalid,
  output logic                   s_axis_tready,
  output logic [PE*OUT_BITS-1:0] m_axis_tdata,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  localparam int CF = CHANNELS / PE;
  localparam int CfBits = CF > 1 ? $clog2(CF) : 1;
  localparam int PixelBits = PIXELS > 1 ? $clog2(PIXELS) : 1;

  logic en, step, last_fold, last_pixel;
  logic [CfBits-1:0]    cf_q;
  logic [PixelBits-1:0] pixel_q;
  assign en = !(m_axis_tvalid && !m_axis_tready);
  assign s_axis_tready = en;
  assign step = en && s_axis_tvalid;
  assign last_fold  = cf_q == CfBits'(CF - 1);
  assign last_pixel = pixel_q == PixelBits'(PIXELS - 1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cf_q    <= '0;
      pixel_q <= '0;
    end else if (step) begin
      cf_q <= last_fold ? '0 : cf_q + 1'b1;
      if (last_fold) pixel_q <= last_pixel ? '0 : pixel_q + 1'b1;
    end
  end

  // Partial sums of every fold (CF words: LUTRAM with an asynchronous read), plus the current word.
  logic [PE*OUT_BITS-1:0] sums_q [CF];
  logic [PE*OUT_BITS-1:0] total;
  for (genvar pe = 0; pe < PE; pe++) begin : g_lane
    logic [IN_BITS-1:0]  lane;
    logic [OUT_BITS-1:0] value;
    assign lane  = s_axis_tdata[pe * IN_BITS +: IN_BITS];
    assign value = IN_SIGNED ? OUT_BITS'($signed(lane)) : OUT_BITS'(lane);
    assign total[pe * OUT_BITS +: OUT_BITS] = (pixel_q == 0 ? '0 : sums_q[cf_q][pe * OUT_BITS +: OUT_BITS]) + value;
  end

  always_ff @(posedge clk_i) if (step) sums_q[cf_q] <= total;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m_axis_tvalid <= 1'b0;
    else if (en) m_axis_tvalid <= step && last_pixel;
  end
  always_ff @(posedge clk_i) if (step && last_pixel) m_axis_tdata <= total;
endmodule
