// Read-only memory initialised from a file of hex words ($readmemh, one word per line): the
// weights, thresholds and constants of a layer. Cycles: one read per cycle. Latency: 1 cycle (a
// synchronous read): data_o holds word addr_i one cycle after a cycle with en_i high, and keeps it
// while en_i is low (a stalled pipeline stays in place).
//
// MEM_STYLE tells Vivado and Yosys what to map it to: "block" (BRAM), "distributed" (LUTRAM),
// "ultra" (URAM, Zynq UltraScale+) or "auto" (the tool decides).
module rom #(
  parameter int    WIDTH     = 8,
  parameter int    DEPTH     = 16,
  parameter string INIT_FILE = "",
  parameter string MEM_STYLE = "auto"
) (
  input  logic                                   clk_i,
  input  logic                                   en_i,
  input  logic [(DEPTH > 1 ? $clog2(DEPTH) : 1)-1:0] addr_i,
  output logic [WIDTH-1:0]                       data_o
);
  if (MEM_STYLE == "block") begin : g_block
    (* rom_style = "block", ram_style = "block" *) logic [WIDTH-1:0] mem [DEPTH];
    initial $readmemh(INIT_FILE, mem);
    always_ff @(posedge clk_i) if (en_i) data_o <= mem[addr_i];
  end else if (MEM_STYLE == "distributed") begin : g_distributed
    // A ROM in LUTs: Vivado's rom_style "distributed"; Yosys maps LUTRAM only with a write port,
    // and its logic_block is the same thing (the LUTs compute the words).
`ifdef YOSYS
    (* logic_block *) logic [WIDTH-1:0] mem [DEPTH];
`else
    (* rom_style = "distributed" *) logic [WIDTH-1:0] mem [DEPTH];
`endif
    initial $readmemh(INIT_FILE, mem);
    always_ff @(posedge clk_i) if (en_i) data_o <= mem[addr_i];
  end else if (MEM_STYLE == "ultra") begin : g_ultra
    (* ram_style = "ultra" *) logic [WIDTH-1:0] mem [DEPTH];
    initial $readmemh(INIT_FILE, mem);
    always_ff @(posedge clk_i) if (en_i) data_o <= mem[addr_i];
  end else begin : g_auto
    logic [WIDTH-1:0] mem [DEPTH];
    initial $readmemh(INIT_FILE, mem);
    always_ff @(posedge clk_i) if (en_i) data_o <= mem[addr_i];
  end
endmodule
