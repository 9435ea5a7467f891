// AXI4-Lite control registers of the accelerator, at the offsets Vitis HLS gives an s_axilite
// bundle with ap_ctrl_hs, so that the HLS and the RTL backend share one driver:
//   0x00 control: bit 0 ap_start (write 1 to start; reads 1 until the run completes),
//                 bit 1 ap_done (cleared by reading), bit 2 ap_idle, bit 3 ap_ready (cleared by reading)
//   0x04 global interrupt enable (bit 0), 0x08 interrupt enable (bit 0: done), 0x0c interrupt status
//        (bit 0: done; writing 1 toggles it), 0x10 frames (the run's frame count)
// Interrupt: irq_o = GIE && IER[0] && ISR[0]. One outstanding read or write at a time (PYNQ's MMIO
// issues one); responses are OKAY. Latency: a write takes effect one cycle after its response.
module axi_lite_control #(
  parameter int ADDR_BITS = 6
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic [ADDR_BITS-1:0] s_axi_awaddr,
  input  logic                 s_axi_awvalid,
  output logic                 s_axi_awready,
  input  logic [31:0]          s_axi_wdata,
  input  logic [3:0]           s_axi_wstrb,
  input  logic                 s_axi_wvalid,
  output logic                 s_axi_wready,
  output logic [1:0]           s_axi_bresp,
  output logic                 s_axi_bvalid,
  input  logic                 s_axi_bready,
  input  logic [ADDR_BITS-1:0] s_axi_araddr,
  input  logic                 s_axi_arvalid,
  output logic                 s_axi_arready,
  output logic [31:0]          s_axi_rdata,
  output logic [1:0]           s_axi_rresp,
  output logic                 s_axi_rvalid,
  input  logic                 s_axi_rready,
  output logic                 start_o,     // one cycle: a run begins
  output logic [31:0]          frames_o,    // its frame count
  input  logic                 done_i,      // one cycle: the run has written its last output word
  output logic                 irq_o
);
  localparam logic [ADDR_BITS-1:0] Control = 'h00, GlobalEnable = 'h04, Enable = 'h08, Status = 'h0c,
                                   Frames = 'h10;

  logic running_q, done_q, ready_q, global_enable_q, enable_q, status_q;
  logic [31:0] frames_q;

  // Write: address and data may come in either order; the response follows both.
  logic [ADDR_BITS-1:0] waddr_q;
  logic have_addr_q, have_data_q;
  logic [31:0] wdata_q;
  logic write;
  assign s_axi_awready = !have_addr_q && !s_axi_bvalid;
  assign s_axi_wready = !have_data_q && !s_axi_bvalid;
  assign s_axi_bresp = 2'b00;
  assign write = have_addr_q && have_data_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      have_addr_q <= 1'b0;
      have_data_q <= 1'b0;
      s_axi_bvalid <= 1'b0;
    end else begin
      if (s_axi_awvalid && s_axi_awready) have_addr_q <= 1'b1;
      if (s_axi_wvalid && s_axi_wready) have_data_q <= 1'b1;
      if (write) begin
        have_addr_q <= 1'b0;
        have_data_q <= 1'b0;
        s_axi_bvalid <= 1'b1;
      end else if (s_axi_bvalid && s_axi_bready) begin
        s_axi_bvalid <= 1'b0;
      end
    end
  end
  always_ff @(posedge clk_i) begin
    if (s_axi_awvalid && s_axi_awready) waddr_q <= s_axi_awaddr;
    if (s_axi_wvalid && s_axi_wready) wdata_q <= s_axi_wdata;   // byte strobes: registers take whole words
  end

  // Read: one register per request.
  logic read;
  assign s_axi_arready = !s_axi_rvalid;
  assign s_axi_rresp = 2'b00;
  assign read = s_axi_arvalid && s_axi_arready;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) s_axi_rvalid <= 1'b0;
    else if (read) s_axi_rvalid <= 1'b1;
    else if (s_axi_rready) s_axi_rvalid <= 1'b0;
  end
  always_ff @(posedge clk_i) begin
    if (read) begin
      unique case (s_axi_araddr)
        Control:      s_axi_rdata <= {28'b0, ready_q, !running_q, done_q, running_q};
        GlobalEnable: s_axi_rdata <= {31'b0, global_enable_q};
        Enable:       s_axi_rdata <= {31'b0, enable_q};
        Status:       s_axi_rdata <= {31'b0, status_q};
        Frames:       s_axi_rdata <= frames_q;
        default:      s_axi_rdata <= '0;
      endcase
    end
  end

  assign start_o = write && waddr_q == Control && wdata_q[0] && !running_q;
  assign frames_o = frames_q;
  assign irq_o = global_enable_q && enable_q && status_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      running_q <= 1'b0;
      done_q <= 1'b0;
      ready_q <= 1'b0;
      global_enable_q <= 1'b0;
      enable_q <= 1'b0;
      status_q <= 1'b0;
      frames_q <= '0;
    end else begin
      if (read && s_axi_araddr == Control) begin
        done_q <= 1'b0;
        ready_q <= 1'b0;
      end
      if (start_o) running_q <= 1'b1;
      if (done_i) begin
        running_q <= 1'b0;
        done_q <= 1'b1;
        ready_q <= 1'b1;
        if (enable_q) status_q <= 1'b1;
      end
      if (write) begin
        unique case (waddr_q)
          GlobalEnable: global_enable_q <= wdata_q[0];
          Enable:       enable_q <= wdata_q[0];
          Status:       status_q <= status_q ^ wdata_q[0];
          Frames:       frames_q <= wdata_q;
          default:      ;
        endcase
      end
    end
  end
endmodule
