// FIFO between two AXI-Stream ports: holds up to DEPTH words of WIDTH bits.
//
// s_axis_tready is high while fewer than DEPTH words are held; the head word is on m_axis_tdata
// whenever m_axis_tvalid is high (first word fall-through). One word in and one word out per cycle,
// at full throughput, both ready signals registered (no combinational path through the FIFO).
//
// Two memories, picked by the generator (MEM_STYLE):
//   "distributed": DEPTH words with an asynchronous read (LUTRAM / SRL, or registers for DEPTH 2).
//                  Latency 1 cycle (a word written in cycle t can leave in cycle t+1).
//   "block":       DEPTH-2 words in a synchronously read RAM (BRAM) in front of a two-word output
//                  buffer that hides its read latency. Latency 2 cycles. DEPTH >= 3.
module fifo #(
  parameter int    WIDTH     = 8,
  parameter int    DEPTH     = 2,
  parameter string MEM_STYLE = "distributed"
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
  localparam int CountBits = $clog2(DEPTH + 1);

  logic push, pop;
  assign push = s_axis_tvalid && s_axis_tready;
  assign pop  = m_axis_tvalid && m_axis_tready;

  if (MEM_STYLE == "block") begin : g_block
    localparam int MemDepth = DEPTH - 2;
    localparam int AddrBits = MemDepth > 1 ? $clog2(MemDepth) : 1;

    (* ram_style = "block" *) logic [WIDTH-1:0] mem [MemDepth];
    logic [AddrBits-1:0] wr_ptr_q, rd_ptr_q;
    logic [CountBits-1:0] held_q;          // words in the memory, the read in flight and the buffer
    logic [CountBits-1:0] mem_count_q;     // words in the memory
    logic                 read_pending_q;  // a word read last cycle arrives in mem_q now
    logic [WIDTH-1:0]     mem_q;
    logic [WIDTH-1:0]     buffer_q [2];
    logic [1:0]           buffered_q;      // words in the output buffer
    logic                 read;

    // Read ahead while the output buffer will have room for the word when it arrives.
    assign read = mem_count_q != 0
                  && (32'(buffered_q) + 32'(read_pending_q) - 32'(pop)) < 2;
    assign s_axis_tready = held_q != CountBits'(DEPTH);
    assign m_axis_tvalid = buffered_q != 0;
    assign m_axis_tdata  = buffer_q[0];

    always_ff @(posedge clk_i) begin
      if (push) mem[wr_ptr_q] <= s_axis_tdata;
      if (read) mem_q <= mem[rd_ptr_q];
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        wr_ptr_q       <= '0;
        rd_ptr_q       <= '0;
        held_q         <= '0;
        mem_count_q    <= '0;
        read_pending_q <= 1'b0;
        buffered_q     <= '0;
      end else begin
        if (push) wr_ptr_q <= wr_ptr_q == AddrBits'(MemDepth - 1) ? '0 : wr_ptr_q + 1'b1;
        if (read) rd_ptr_q <= rd_ptr_q == AddrBits'(MemDepth - 1) ? '0 : rd_ptr_q + 1'b1;
        held_q         <= held_q + CountBits'(push) - CountBits'(pop);
        mem_count_q    <= mem_count_q + CountBits'(push) - CountBits'(read);
        read_pending_q <= read;
        buffered_q     <= buffered_q + 2'(read_pending_q) - 2'(pop);
      end
    end

    // The buffer shifts on a pop; an arriving word takes the first free place after the shift.
    always_ff @(posedge clk_i) begin
      if (pop) buffer_q[0] <= buffer_q[1];
      if (read_pending_q) begin
        if (buffered_q - 2'(pop) == 0) buffer_q[0] <= mem_q;
        else buffer_q[1] <= mem_q;
      end
    end
  end else begin : g_distributed
    localparam int AddrBits = DEPTH > 1 ? $clog2(DEPTH) : 1;

    (* ram_style = "distributed" *) logic [WIDTH-1:0] mem [DEPTH];
    logic [AddrBits-1:0]  wr_ptr_q, rd_ptr_q;
    logic [CountBits-1:0] count_q;

    assign s_axis_tready = count_q != CountBits'(DEPTH);
    assign m_axis_tvalid = count_q != 0;
    assign m_axis_tdata  = mem[rd_ptr_q];

    always_ff @(posedge clk_i) begin
      if (push) mem[wr_ptr_q] <= s_axis_tdata;
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        wr_ptr_q <= '0;
        rd_ptr_q <= '0;
        count_q  <= '0;
      end else begin
        if (push) wr_ptr_q <= wr_ptr_q == AddrBits'(DEPTH - 1) ? '0 : wr_ptr_q + 1'b1;
        if (pop)  rd_ptr_q <= rd_ptr_q == AddrBits'(DEPTH - 1) ? '0 : rd_ptr_q + 1'b1;
        count_q <= count_q + CountBits'(push) - CountBits'(pop);
      end
    end
  end
endmodule
