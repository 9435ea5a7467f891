# Stand-ins for the Vivado and Vitis HLS Tcl commands the generated scripts use, so that the scripts run
# under plain tclsh. Each stub checks its options and positional arguments like the real command, checks
# that the objects it is handed exist (cells, pins of the IP, address segments), records the call as a
# JSON line in $env(TCL_STUB_RECORD), and returns what the tool would (object names, run properties).
# Only the commands defined here exist: any other command, or a misspelled option, fails.
#
# usage: tclsh stub.tcl vivado|vitis_hls <script.tcl>
# environment: TCL_STUB_RECORD (the record, appended to), TCL_STUB_BOARD_PARTS (the installed board parts).
# Where the tools write files that a script reads back (the exported IP, the .hwh, the bitstream), the
# stubs write small placeholder files in the same places.

proc unknown {args} { error "invalid command name \"[lindex $args 0]\"" }

lassign $argv ::tool ::script
if {$::tool ni {vivado vitis_hls}} { error "usage: tclsh stub.tcl vivado|vitis_hls <script.tcl>" }

# ------------------------------------------------------------------------------------------ recording

proc json_string {s} {
    return "\"[string map [list \\ \\\\ \" \\\" \n \\n \t \\t \r \\r] $s]\""
}

proc json_object {pairs} {
    set items {}
    foreach {key value} $pairs { lappend items "[json_string $key]: $value" }
    return "\{[join $items {, }]\}"
}

proc json_list {values} {
    return "\[[join [lmap v $values {json_string $v}] {, }]\]"
}

proc record {pairs} {
    set fh [open $::env(TCL_STUB_RECORD) a]
    puts $fh [json_object [concat [list tool [json_string $::tool]] $pairs]]
    close $fh
}

# stub NAME FLAGS MIN MAX BODY: defines command NAME. FLAGS is a dict: option -> 1 if it takes a value,
# 0 if not. MIN..MAX positional arguments (MAX -1: any number). BODY runs with `opts` (a dict of the
# given options) and `pos` (the positional arguments) and returns the command's result.
proc stub {name flags min max {body {}}} {
    set ::stubs($name) [list $flags $min $max $body]
    proc $name {args} "stub_call $name \$args"
}

proc stub_call {name arguments} {
    lassign $::stubs($name) flags min max body
    set opts [dict create]
    set pos {}
    for {set i 0} {$i < [llength $arguments]} {incr i} {
        set arg [lindex $arguments $i]
        if {[string match -* $arg] && ![string is double -strict $arg]} {
            if {![dict exists $flags $arg]} { error "$name: invalid option '$arg'" }
            if {[dict get $flags $arg]} {
                incr i
                if {$i >= [llength $arguments]} { error "$name: option '$arg' needs a value" }
                dict set opts $arg [lindex $arguments $i]
            } else {
                dict set opts $arg 1
            }
        } else {
            lappend pos $arg
        }
    }
    if {[llength $pos] < $min || ($max >= 0 && [llength $pos] > $max)} {
        error "$name: wrong number of arguments ([llength $pos]): $arguments"
    }
    set options {}
    dict for {key value} $opts { lappend options $key [json_string $value] }
    record [list cmd [json_string $name] options [json_object $options] args [json_list $pos]]
    return [apply [list {opts pos} $body] $opts $pos]
}

# ------------------------------------------------------------------------------------------ Vitis HLS

if {$::tool eq "vitis_hls"} {
    stub open_project {-reset 0} 1 1 { set ::hls_project [file join [pwd] [lindex $pos 0]]; return }
    stub set_top {} 1 1
    stub add_files {-tb 0 -cflags 1 -csimflags 1 -blackbox 1} 1 -1 {
        foreach f $pos { if {![file exists $f]} { error "add_files: $f does not exist (in [pwd])" } }
    }
    stub open_solution {-reset 0 -flow_target 1} 1 1 {
        if {[dict exists $opts -flow_target] && [dict get $opts -flow_target] ni {vivado vitis}} {
            error "open_solution: -flow_target must be vivado or vitis"
        }
        set ::hls_solution [lindex $pos 0]
    }
    stub set_part {-board 0} 1 1
    stub create_clock {-period 1 -name 1} 0 0
    stub config_compile {-pipeline_style 1 -pipeline_loops 1} 0 0
    stub csim_design {-argv 1 -O 0 -clean 0 -ldflags 1 -mflags 1 -setup 0} 0 0 {
        if {[dict exists $opts -argv]} {
            foreach f [dict get $opts -argv] { if {![file exists $f]} { error "csim_design: $f does not exist" } }
        }
    }
    stub csynth_design {} 0 0
    stub export_design {-format 1 -vendor 1 -library 1 -version 1 -ipname 1 -display_name 1 -description 1 -rtl 1} 0 0 {
        set ip [file join $::hls_project $::hls_solution impl ip]
        file mkdir $ip
        set vlnv [join [list [dict get $opts -vendor] [dict get $opts -library] [dict get $opts -ipname] [dict get $opts -version]] :]
        set fh [open $ip/component.xml w]; puts $fh "stub IP $vlnv"; close $fh
    }
    rename exit tcl_exit
    stub exit {} 0 1 { record [list event [json_string end]]; tcl_exit 0 }
}

# ------------------------------------------------------------------------------------------ Vivado

# The IPs the scripts instantiate: their pins, interface pins, address spaces and segments. Vitis HLS
# names an IP's AXI-stream ports after the top's arguments and its AXI-lite port s_axi_<bundle>.
array set ::ip_pins {
    processing_system7 {FCLK_CLK0 FCLK_RESET0_N M_AXI_GP0_ACLK M_AXI_GP1_ACLK S_AXI_HP0_ACLK S_AXI_HP1_ACLK
                        S_AXI_HP2_ACLK S_AXI_HP3_ACLK IRQ_F2P}
    zynq_ultra_ps_e {pl_clk0 pl_resetn0 maxihpm0_fpd_aclk maxihpm1_fpd_aclk maxihpm0_lpd_aclk saxihp0_fpd_aclk
                     saxihp1_fpd_aclk saxihp2_fpd_aclk saxihp3_fpd_aclk pl_ps_irq0}
    axi_dma {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn mm2s_introut s2mm_introut}
    smartconnect {aclk aresetn}
    proc_sys_reset {slowest_sync_clk ext_reset_in aux_reset_in mb_debug_sys_rst dcm_locked mb_reset
                    bus_struct_reset peripheral_reset interconnect_aresetn peripheral_aresetn}
    hls {ap_clk ap_rst_n interrupt}
}
array set ::ip_intf_pins {
    processing_system7 {M_AXI_GP0 M_AXI_GP1 S_AXI_HP0 S_AXI_HP1 S_AXI_HP2 S_AXI_HP3 S_AXI_ACP DDR FIXED_IO}
    zynq_ultra_ps_e {M_AXI_HPM0_FPD M_AXI_HPM1_FPD M_AXI_HPM0_LPD S_AXI_HP0_FPD S_AXI_HP1_FPD S_AXI_HP2_FPD
                     S_AXI_HP3_FPD S_AXI_HPC0_FPD S_AXI_HPC1_FPD}
    axi_dma {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}
    proc_sys_reset {}
    hls {in0 out0 s_axi_control}
}
set ::ip_intf_pins(smartconnect) {}
for {set i 0} {$i < 16} {incr i} { lappend ::ip_intf_pins(smartconnect) [format S%02d_AXI $i] [format M%02d_AXI $i] }
array set ::ip_addr_spaces {processing_system7 Data zynq_ultra_ps_e Data axi_dma {Data_MM2S Data_S2MM}}
array set ::ip_addr_segs {axi_dma S_AXI_LITE/Reg hls s_axi_control/Reg}
set ::xilinx_ips {processing_system7 zynq_ultra_ps_e axi_dma smartconnect proc_sys_reset}

# cell -> IP kind (a key of ip_pins); the VLNVs of the IPs in the user repository.
array set ::cells {}
set ::repo_ips {}

proc cell_kind {name} {
    if {![info exists ::cells($name)]} { error "no cell '$name' in the block design" }
    return $::cells($name)
}

proc cell_object {path table what} {
    set parts [split [string trimleft $path /] /]
    set cell [lindex $parts 0]
    set item [join [lrange $parts 1 end] /]
    upvar #0 $table names
    set kind [cell_kind $cell]
    if {![info exists names($kind)] || $item ni $names($kind)} { error "cell '$cell' ($kind) has no $what '$item'" }
    return /$cell/$item
}

proc run_dir {run} { return $::project_dir/$::project.runs/$run }

if {$::tool eq "vivado"} {
    stub create_project {-force 0 -part 1 -in_memory 0} 1 2 {
        lassign $pos ::project ::project_dir
        set ::project_dir [file normalize $::project_dir]
        file mkdir $::project_dir
    }
    stub current_project {} 0 0 { return $::project }
    stub current_fileset {-simset 0 -constrset 0} 0 0 { return sources_1 }
    stub set_param {} 2 2
    stub get_board_parts {-quiet 0 -latest_file_version 0 -filter 1} 0 1 {
        set found {}
        foreach part [split [expr {[info exists ::env(TCL_STUB_BOARD_PARTS)] ? $::env(TCL_STUB_BOARD_PARTS) : ""}] ,] {
            if {[string match [lindex $pos 0] $part]} { lappend found $part }
        }
        return $found
    }
    stub set_property {-dict 1 -quiet 0} 1 3 {
        # set_property NAME VALUE OBJECTS, or set_property -dict {NAME VALUE ...} OBJECTS
        if {[llength $pos] != ([dict exists $opts -dict] ? 1 : 3)} { error "set_property: wrong arguments: $pos" }
        set values [expr {[dict exists $opts -dict] ? [dict get $opts -dict] : [lrange $pos 0 1]}]
        set objects [lindex $pos end]
        if {$objects eq ""} { error "set_property: no object given" }
        foreach {key value} $values {
            foreach object $objects {
                record [list event [json_string property] object [json_string $object] name [json_string $key] \
                             value [json_string $value]]
            }
            if {$key eq "ip_repo_paths"} { set ::ip_repo_paths $value }
            if {$key eq "top"} { set ::top $value }
        }
    }
    stub update_ip_catalog {} 0 0 {
        foreach dir $::ip_repo_paths {
            foreach xml [glob -nocomplain $dir/component.xml $dir/*/component.xml] {
                set fh [open $xml]; lappend ::repo_ips [lindex [read $fh] 2]; close $fh
            }
        }
    }
    stub create_bd_design {} 1 1 { set ::bd [lindex $pos 0] }
    stub create_bd_cell {-type 1 -vlnv 1 -reference 1} 1 1 {
        set vlnv [dict get $opts -vlnv]
        set name [lindex $pos 0]
        lassign [split $vlnv :] vendor library ip
        if {$vendor eq "xilinx.com" && $library eq "ip" && $ip in $::xilinx_ips} {
            set ::cells($name) $ip
        } elseif {$vlnv in $::repo_ips} {
            set ::cells($name) hls
        } else {
            error "create_bd_cell: IP '$vlnv' not in the catalog (Xilinx IPs used here, and [join $::repo_ips {, }])"
        }
        return /$name
    }
    stub apply_bd_automation {-rule 1 -config 1 -dict 1} 1 1 {
        if {![string match xilinx.com:bd_rule:* [dict get $opts -rule]]} { error "apply_bd_automation: unknown rule" }
    }
    stub get_bd_cells {-quiet 0} 1 1 { cell_kind [string trimleft [lindex $pos 0] /]; return /[string trimleft [lindex $pos 0] /] }
    stub get_bd_pins {} 1 1 { cell_object [lindex $pos 0] ::ip_pins pin }
    stub get_bd_intf_pins {} 1 1 { cell_object [lindex $pos 0] ::ip_intf_pins "interface pin" }
    stub get_bd_addr_spaces {} 1 1 { cell_object [lindex $pos 0] ::ip_addr_spaces "address space" }
    stub get_bd_addr_segs {} 1 1 { cell_object [lindex $pos 0] ::ip_addr_segs "address segment" }
    stub connect_bd_intf_net {-intf_net 1} 2 2
    stub connect_bd_net {-net 1} 2 -1
    stub assign_bd_address {-target_address_space 1 -offset 1 -range 1 -force 0} 0 1
    stub validate_bd_design {-force 0} 0 0
    stub save_bd_design {} 0 0
    stub get_files {-all 0 -of_objects 1} 1 1 {
        set bd $::project_dir/$::project.srcs/sources_1/bd/$::bd/$::bd.bd
        if {[lindex $pos 0] ne "$::bd.bd"} { error "get_files: no file [lindex $pos 0] in the project" }
        return $bd
    }
    stub generate_target {} 2 2 {
        set handoff $::project_dir/$::project.gen/sources_1/bd/$::bd/hw_handoff
        file mkdir $handoff
        set fh [open $handoff/$::bd.hwh w]; puts $fh "stub hwh"; close $fh
    }
    stub make_wrapper {-files 1 -top 0} 0 0 {
        return $::project_dir/$::project.gen/sources_1/bd/$::bd/hdl/${::bd}_wrapper.v
    }
    stub add_files {-norecurse 0 -fileset 1} 1 1
    stub get_runs {} 1 1 {
        if {[lindex $pos 0] ni {synth_1 impl_1}} { error "get_runs: no run [lindex $pos 0]" }
        return [lindex $pos 0]
    }
    stub launch_runs {-jobs 1 -to_step 1} 1 1 {
        if {[lindex $pos 0] ni {synth_1 impl_1}} { error "launch_runs: no run [lindex $pos 0]" }
        set ::launched([lindex $pos 0]) [expr {[dict exists $opts -to_step] ? [dict get $opts -to_step] : ""}]
    }
    stub wait_on_run {-timeout 1} 1 1 {
        set run [lindex $pos 0]
        if {![info exists ::launched($run)]} { error "wait_on_run: run $run was not launched" }
        if {$run eq "impl_1" && $::launched($run) eq "write_bitstream"} {
            file mkdir [run_dir impl_1]
            set fh [open [run_dir impl_1]/$::top.bit w]; puts $fh "stub bitstream"; close $fh
        }
    }
    stub get_property {-quiet 0} 2 2 {
        lassign $pos name object
        switch -- $name {
            PROGRESS { return 100% }
            STATS.WNS { return 0.250 }
            DIRECTORY { return [run_dir $object] }
            default { error "get_property: the stub knows no property $name" }
        }
    }
}

source $::script
record [list event [json_string end]]
