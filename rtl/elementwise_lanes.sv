// The arithmetic of FINN's ElementwiseAdd / Sub / Mul / Max on PE lanes, shared by
// elementwise_const and elementwise_streams: result lane pe = lhs lane pe OP rhs lane pe.
//
// OP is "Add", "Sub" (lhs - rhs), "Mul" or "Max". Operands are L_BITS / R_BITS wide, signed if L_SIGNED /
// R_SIGNED; the exact result is truncated to OUT_BITS (FINN's output type holds it).
// Cycles: none of its own (combinational; its users take one word per cycle). Latency: 0 cycles.
module elementwise_lanes #(
  parameter string OP       = "Add",
  parameter int    PE       = 1,
  parameter int    L_BITS   = 4,
  parameter bit    L_SIGNED = 0,
  parameter int    R_BITS   = 4,
  parameter bit    R_SIGNED = 0,
  parameter int    OUT_BITS = 5
) (
  input  logic [PE*L_BITS-1:0]   lhs_i,
  input  logic [PE*R_BITS-1:0]   rhs_i,
  output logic [PE*OUT_BITS-1:0] result_o
);
  // Wide enough for every sum, difference and product of the operands.
  localparam int W = L_BITS + R_BITS + 2;

  for (genvar pe = 0; pe < PE; pe++) begin : g_lane
    logic [L_BITS-1:0]   lhs;
    logic [R_BITS-1:0]   rhs;
    logic signed [W-1:0] a, b, r;
    assign lhs = lhs_i[pe * L_BITS +: L_BITS];
    assign rhs = rhs_i[pe * R_BITS +: R_BITS];
    assign a = L_SIGNED ? W'($signed(lhs)) : W'(lhs);
    assign b = R_SIGNED ? W'($signed(rhs)) : W'(rhs);
    if (OP == "Add") begin : g_add
      assign r = a + b;
    end else if (OP == "Sub") begin : g_sub
      assign r = a - b;
    end else if (OP == "Mul") begin : g_mul
      assign r = a * b;
    end else begin : g_max
      assign r = a > b ? a : b;
    end
    assign result_o[pe * OUT_BITS +: OUT_BITS] = OUT_BITS'(r);
  end
endmodule
