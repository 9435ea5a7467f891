// Stream data width converter (FINN op StreamingDataWidthConverter): repacks a stream of IN_WIDTH-bit
// words into OUT_WIDTH-bit words, lowest bits first (bit b of the stream is bit b % IN_WIDTH of
// input word b / IN_WIDTH and bit b % OUT_WIDTH of output word b / OUT_WIDTH). The bits of a frame
// are a multiple of OUT_WIDTH (FINN inserts converters only where they are), so frames need no
// marking: the stream is cut into output words the same way with or without frame boundaries.
//
// At most one input and one output word per cycle:
//   IN_WIDTH a multiple of OUT_WIDTH: the input word is held and sent out slice by slice; the next
//     one is taken in the cycle its last slice leaves.
//   OUT_WIDTH a multiple of IN_WIDTH: input words fill the output word; the next fills it again
//     from the cycle it leaves.
//   otherwise: a buffer of IN_WIDTH + OUT_WIDTH - gcd bits, in units of gcd(IN_WIDTH, OUT_WIDTH)
//     bits; a word leaves while the buffer holds OUT_WIDTH bits, one comes in while it has room.
// Cycles per frame: max(input words, output words). Latency: 1 cycle from the input word that
// completes an output word to that word. The input's ready depends on the output's ready.
module data_width_converter #(
  parameter int IN_WIDTH  = 12,
  parameter int OUT_WIDTH = 8
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic [IN_WIDTH-1:0]  s_axis_tdata,
  input  logic                 s_axis_tvalid,
  output logic                 s_axis_tready,
  output logic [OUT_WIDTH-1:0] m_axis_tdata,
  output logic                 m_axis_tvalid,
  input  logic                 m_axis_tready
);
  function automatic int gcd(int a, int b);
    while (b != 0) begin
      int r = a % b;
      a = b;
      b = r;
    end
    return a;
  endfunction

  logic push, pop;
  assign push = s_axis_tvalid && s_axis_tready;
  assign pop  = m_axis_tvalid && m_axis_tready;

  if (IN_WIDTH % OUT_WIDTH == 0) begin : g_narrower
    localparam int Slices = IN_WIDTH / OUT_WIDTH;
    localparam int LeftBits = $clog2(Slices + 1);
    logic [IN_WIDTH-1:0] word_q;     // the rest of the input word, next slice lowest
    logic [LeftBits-1:0] left_q;     // slices still to send

    assign m_axis_tvalid = left_q != 0;
    assign m_axis_tdata  = word_q[OUT_WIDTH-1:0];
    assign s_axis_tready = left_q == 0 || (left_q == 1 && m_axis_tready);

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) left_q <= '0;
      else left_q <= push ? LeftBits'(Slices) : left_q - LeftBits'(pop);
    end
    always_ff @(posedge clk_i) begin
      if (push) word_q <= s_axis_tdata;
      else if (pop) word_q <= word_q >> OUT_WIDTH;
    end
  end else if (OUT_WIDTH % IN_WIDTH == 0) begin : g_wider
    localparam int Parts = OUT_WIDTH / IN_WIDTH;
    localparam int FilledBits = $clog2(Parts + 1);
    logic [OUT_WIDTH-1:0]  word_q;
    logic [FilledBits-1:0] filled_q;   // input words in word_q; Parts: complete, waiting to leave
    logic [FilledBits-1:0] place;      // where an incoming word goes

    assign m_axis_tvalid = filled_q == FilledBits'(Parts);
    assign m_axis_tdata  = word_q;
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    assign place = pop ? '0 : filled_q;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) filled_q <= '0;
      else filled_q <= place + FilledBits'(push);
    end
    for (genvar p = 0; p < Parts; p++) begin : g_part
      always_ff @(posedge clk_i) if (push && place == FilledBits'(p)) word_q[p * IN_WIDTH +: IN_WIDTH] <= s_axis_tdata;
    end
  end else begin : g_general
    localparam int Unit = gcd(IN_WIDTH, OUT_WIDTH);
    localparam int InUnits = IN_WIDTH / Unit, OutUnits = OUT_WIDTH / Unit;
    localparam int BufferUnits = InUnits + OutUnits - 1;   // room for a word whenever none can leave
    localparam int BufferBits = BufferUnits * Unit;
    localparam int CountBits = $clog2(BufferUnits + 1);
    logic [BufferBits-1:0] buffer_q, shifted, incoming, placed;   // pending bits, oldest lowest
    logic [CountBits-1:0]  count_q, kept;                          // pending units

    assign m_axis_tvalid = count_q >= CountBits'(OutUnits);
    assign m_axis_tdata  = buffer_q[OUT_WIDTH-1:0];
    assign kept = count_q - (pop ? CountBits'(OutUnits) : '0);
    assign s_axis_tready = 32'(kept) + InUnits <= BufferUnits;
    assign shifted  = pop ? buffer_q >> OUT_WIDTH : buffer_q;
    assign incoming = BufferBits'(s_axis_tdata) << (kept * Unit);
    assign placed   = BufferBits'({IN_WIDTH{1'b1}}) << (kept * Unit);

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) count_q <= '0;
      else count_q <= kept + (push ? CountBits'(InUnits) : '0);
    end
    always_ff @(posedge clk_i) if (push || pop) buffer_q <= push ? (shifted & ~placed) | incoming : shifted;
  end
endmodule
