// Simulation only, for FIFO sizing: fifo.sv's distributed FIFO with DEPTH words of memory that holds
// at most LIMIT words, LIMIT given per run on the simulator's command line (+fifo_<NAME>=<LIMIT>;
// default DEPTH). Cycle for cycle it behaves as fifo.sv of depth LIMIT, so that one compiled model
// can try many depths.
module fifo_limit #(
  parameter int    WIDTH = 8,
  parameter int    DEPTH = 2,
  parameter string NAME  = "fifo"
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
  localparam int AddrBits = DEPTH > 1 ? $clog2(DEPTH) : 1;
  int unsigned limit;
  initial if (!$value$plusargs({"fifo_", NAME, "=%d"}, limit) || limit > DEPTH) limit = DEPTH;

  logic [WIDTH-1:0] mem [DEPTH];
  logic [AddrBits-1:0] wr_ptr_q, rd_ptr_q;
  int unsigned count_q;
  logic push, pop;
  assign s_axis_tready = count_q < limit;
  assign m_axis_tvalid = count_q != 0;
  assign m_axis_tdata = mem[rd_ptr_q];
  assign push = s_axis_tvalid && s_axis_tready;
  assign pop = m_axis_tvalid && m_axis_tready;

  always_ff @(posedge clk_i) if (push) mem[wr_ptr_q] <= s_axis_tdata;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
      count_q <= 0;
    end else begin
      if (push) wr_ptr_q <= wr_ptr_q == AddrBits'(DEPTH - 1) ? '0 : wr_ptr_q + 1'b1;
      if (pop) rd_ptr_q <= rd_ptr_q == AddrBits'(DEPTH - 1) ? '0 : rd_ptr_q + 1'b1;
      count_q <= count_q + (push ? 1 : 0) - (pop ? 1 : 0);
    end
  end
endmodule
