# Stand-ins for the Vivado and Vitis HLS Tcl commands the generated scripts use, so that the scripts run
# under plain tclsh. Each stub checks its options and positional arguments like the real command, checks
# that the objects it is handed exist (files, cells, pins of the IP, address segments), records the call
# as a JSON line in $env(TCL_STUB_RECORD), and returns what the tool would (object names, run properties).
# Only the commands defined here exist: any other command, or a misspelled option, fails.
# A module reference's pins come from its Verilog top, as Vivado infers them (see module_reference).
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
# The project's files: path -> FILE_TYPE; the HDL files the last update_compile_order saw.
array set ::project_files {}
set ::compiled_files {}
array set ::hdl_types {.v Verilog .sv SystemVerilog .vhd VHDL}
set ::file_types {Verilog SystemVerilog VHDL {Memory Initialization Files}}

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

proc read_text {path} { set fh [open $path]; set text [read $fh]; close $fh; return $text }

proc add_project_file {path} {
    set ::project_files($path) [expr {[info exists ::hdl_types([file extension $path])] ?
                                      $::hdl_types([file extension $path]) : ""}]
}

# Module `name` of a Verilog text (ANSI port list): {its port list, its body}.
proc verilog_module {text name} {
    if {![regexp -indices "\\mmodule\\s+$name\\s*\\((\[^;\]*)\\);" $text whole header]} {
        error "no port list of module $name"
    }
    set rest [string range $text [lindex $whole 1]+1 end]
    return [list [string range $text {*}$header] [string range $rest 0 [string first endmodule $rest]-1]]
}

# The ports of a module's port list: {direction port interface_info interface_parameter} per port, from
# one declaration per line, each after its (* X_INTERFACE_... *) attributes.
proc verilog_ports {name header} {
    set ports {}
    set info ""
    set parameter ""
    foreach line [split $header \n] {
        if {[regexp {\(\*\s*X_INTERFACE_INFO\s*=\s*"([^"]*)"\s*\*\)} $line -> info]} { continue }
        if {[regexp {\(\*\s*X_INTERFACE_PARAMETER\s*=\s*"([^"]*)"\s*\*\)} $line -> parameter]} { continue }
        if {[regexp {^\s*(input|output|inout)\s+(?:wire\s+)?(?:\[\d+:0\]\s*)?(\w+)\s*,?\s*$} $line -> dir port]} {
            lappend ports [list $dir $port $info $parameter]
            set info ""
            set parameter ""
        } elseif {[string trim $line] ne ""} {
            error "module $name: cannot read the port declaration '[string trim $line]'"
        }
    }
    return $ports
}

# The compiled source that defines `module`, or "".
proc defining_file {module} {
    foreach path $::compiled_files {
        if {[regexp "\\mmodule\\s+$module\\M" [read_text $path]]} { return $path }
    }
    return ""
}

# create_bd_cell -type module -reference NAME: Vivado takes the module from the project's compiled
# sources; its top must be Verilog or VHDL, and every module it instantiates must be among them too.
# Its pins are what Vivado infers from the X_INTERFACE_INFO attributes: a bus interface (aximm, axis) is
# an interface pin with the attribute's name (an AXI slave has an address segment, named reg0, as Vivado
# names a module reference's), a signal (clock, reset, interrupt) or a port without attributes a pin of
# the port's name. The clock must name every bus interface in ASSOCIATED_BUSIF and its reset in
# ASSOCIATED_RESET, the reset its POLARITY, the interrupt its SENSITIVITY (else validate_bd_design
# would complain).
proc module_reference {name} {
    set path [defining_file $name]
    if {$path eq ""} {
        error "create_bd_cell: no module '$name' in the project's sources (add_files, then update_compile_order)"
    }
    if {$::project_files($path) ni {Verilog VHDL}} {
        error "create_bd_cell: module '$name' is $::project_files($path) ($path): a module reference's top must be Verilog or VHDL"
    }
    lassign [verilog_module [read_text $path] $name] header body
    foreach {-> module} [regexp -all -inline -line {^\s*([A-Za-z_]\w*)\s+(?:#\s*\(|[A-Za-z_]\w*\s*\()} $body] {
        if {[defining_file $module] eq ""} {
            error "create_bd_cell: module '$name' instantiates '$module', which no project source defines"
        }
    }
    set kind module:$name
    set ::ip_pins($kind) {}
    set ::ip_intf_pins($kind) {}
    set ::ip_addr_segs($kind) {}
    set bus_interfaces {}
    foreach port [verilog_ports $name $header] {
        lassign $port dir port_name info parameter
        lassign $info vlnv interface logical
        if {$parameter ne ""} { set parameters($interface) $parameter }
        if {[string match xilinx.com:interface:* $vlnv]} {
            if {$interface ni $::ip_intf_pins($kind)} {
                lappend ::ip_intf_pins($kind) $interface
                lappend bus_interfaces $interface
            }
            if {$vlnv eq "xilinx.com:interface:aximm:1.0" && $logical eq "AWADDR" && $dir eq "input"} {
                lappend ::ip_addr_segs($kind) $interface/reg0
            }
        } else {
            lappend ::ip_pins($kind) $port_name
            if {$vlnv ne ""} { set signals($port_name) [lindex [split $vlnv :] 2] }
        }
    }
    set clocked {}
    foreach pin [array names signals] {
        set parameter [expr {[info exists parameters($pin)] ? $parameters($pin) : ""}]
        switch -- $signals($pin) {
            clock {
                if {[regexp {ASSOCIATED_BUSIF\s+([\w:]+)} $parameter -> busif]} { lappend clocked {*}[split $busif :] }
                if {![regexp {ASSOCIATED_RESET\s+(\w+)} $parameter -> reset] || $reset ni $::ip_pins($kind)} {
                    error "module $name: clock $pin has no ASSOCIATED_RESET naming its reset pin"
                }
            }
            reset { if {![regexp {POLARITY\s+ACTIVE_(LOW|HIGH)} $parameter]} { error "module $name: reset $pin has no POLARITY" } }
            interrupt {
                if {![regexp {SENSITIVITY\s+(LEVEL|EDGE)_(HIGH|LOW|RISING|FALLING)} $parameter]} {
                    error "module $name: interrupt $pin has no SENSITIVITY"
                }
            }
        }
    }
    foreach interface $bus_interfaces {
        if {$interface ni $clocked} { error "module $name: interface $interface is in no clock's ASSOCIATED_BUSIF" }
    }
    return $kind
}

# synth_1's runme.log. A memory file that an HDL source names ("x.mem", read by $readmemh) and that is no
# memory initialization file of the project: Vivado synthesis only warns (Synth 8-4445) and leaves the
# memory empty, as here.
proc write_synthesis_log {} {
    set memories {}
    foreach path [array names ::project_files] {
        if {$::project_files($path) eq "Memory Initialization Files"} { lappend memories [file tail $path] }
    }
    file mkdir [run_dir synth_1]
    set fh [open [run_dir synth_1]/runme.log w]
    foreach path $::compiled_files {
        foreach {-> memory} [regexp -all -inline {"([^"\s]+\.mem)"} [read_text $path]] {
            if {$memory ni $memories} {
                puts $fh "WARNING: \[Synth 8-4445\] could not open \$readmemh/\$readmemb file '$memory'; please make sure the file is added to project and has read permission, ignoring \[$path\]"
            }
        }
    }
    puts $fh "synth_1 finished"
    close $fh
}

if {$::tool eq "vivado"} {
    stub create_project {-force 0 -part 1 -in_memory 0} 1 2 {
        lassign $pos ::project ::project_dir
        set ::project_dir [file normalize $::project_dir]
        file mkdir $::project_dir
    }
    stub add_files {-norecurse 0 -fileset 1} 1 -1 {
        set fileset [expr {[dict exists $opts -fileset] ? [dict get $opts -fileset] : "sources_1"}]
        if {$fileset ni {sources_1 constrs_1 sim_1}} { error "add_files: no fileset $fileset" }
        set added {}
        foreach path [concat {*}$pos] {
            if {![file isfile $path]} { error "add_files: file $path does not exist" }
            set path [file normalize $path]
            add_project_file $path
            record [list event [json_string file] path [json_string $path] fileset [json_string $fileset]]
            lappend added $path
        }
        return $added
    }
    stub get_files {-all 0 -of_objects 1} 1 1 {
        # Each pattern matches a project file's path or its name.
        set found {}
        foreach pattern [lindex $pos 0] {
            set matches {}
            foreach path [array names ::project_files] {
                if {[string match $pattern $path] || [string match $pattern [file tail $path]]} { lappend matches $path }
            }
            if {$matches eq ""} { error "get_files: no file $pattern in the project" }
            lappend found {*}$matches
        }
        return $found
    }
    stub update_compile_order {-fileset 1 -quiet 0} 0 0 {
        set ::compiled_files {}
        foreach path [lsort [array names ::project_files]] {
            if {$::project_files($path) in {Verilog SystemVerilog VHDL}} { lappend ::compiled_files $path }
        }
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
            if {$key eq "FILE_TYPE"} {
                if {$value ni $::file_types} { error "set_property: FILE_TYPE '$value' is none of $::file_types" }
                foreach object $objects {
                    if {![info exists ::project_files($object)]} { error "set_property: $object is no file of the project" }
                    set ::project_files($object) $value
                }
            }
        }
    }
    stub update_ip_catalog {} 0 0 {
        foreach dir $::ip_repo_paths {
            foreach xml [glob -nocomplain $dir/component.xml $dir/*/component.xml] {
                set fh [open $xml]; lappend ::repo_ips [lindex [read $fh] 2]; close $fh
            }
        }
    }
    stub create_bd_design {} 1 1 {
        set ::bd [lindex $pos 0]
        set ::project_files($::project_dir/$::project.srcs/sources_1/bd/$::bd/$::bd.bd) "Block Designs"
    }
    stub create_bd_cell {-type 1 -vlnv 1 -reference 1} 1 1 {
        set name [lindex $pos 0]
        if {[dict get $opts -type] eq "module"} {
            if {[dict exists $opts -vlnv] || ![dict exists $opts -reference]} {
                error "create_bd_cell: -type module takes -reference <module>, not -vlnv"
            }
            set ::cells($name) [module_reference [dict get $opts -reference]]
            return /$name
        }
        if {[dict get $opts -type] ne "ip" || [dict exists $opts -reference]} {
            error "create_bd_cell: -type ip -vlnv <vlnv>, or -type module -reference <module>"
        }
        set vlnv [dict get $opts -vlnv]
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
    stub get_bd_addr_segs {-of_objects 1} 0 1 {
        if {[dict exists $opts -of_objects] == ([llength $pos] == 1)} {
            error "get_bd_addr_segs: give a segment, or -of_objects <interface pin>"
        }
        if {[llength $pos]} { return [cell_object [lindex $pos 0] ::ip_addr_segs "address segment"] }
        # The segments of an interface pin: its slave segments, named <interface>/<block>.
        set pin [cell_object [dict get $opts -of_objects] ::ip_intf_pins "interface pin"]
        lassign [split [string trimleft $pin /] /] cell interface
        set kind [cell_kind $cell]
        set segments [expr {[info exists ::ip_addr_segs($kind)] ?
                            [lsearch -all -inline -glob $::ip_addr_segs($kind) $interface/*] : {}}]
        if {$segments eq ""} { error "get_bd_addr_segs: interface pin /$cell/$interface has no address segment" }
        return [lmap segment $segments {string cat /$cell/ $segment}]
    }
    stub connect_bd_intf_net {-intf_net 1} 2 2
    stub connect_bd_net {-net 1} 2 -1
    stub assign_bd_address {-target_address_space 1 -offset 1 -range 1 -force 0} 0 1
    stub validate_bd_design {-force 0} 0 0
    stub save_bd_design {} 0 0
    stub generate_target {} 2 2 {
        set handoff $::project_dir/$::project.gen/sources_1/bd/$::bd/hw_handoff
        file mkdir $handoff
        set fh [open $handoff/$::bd.hwh w]; puts $fh "stub hwh"; close $fh
    }
    stub make_wrapper {-files 1 -top 0} 0 0 {
        set wrapper $::project_dir/$::project.gen/sources_1/bd/$::bd/hdl/${::bd}_wrapper.v
        file mkdir [file dirname $wrapper]
        set fh [open $wrapper w]; puts $fh "module ${::bd}_wrapper; endmodule"; close $fh
        return $wrapper
    }
    stub get_runs {} 1 1 {
        if {[lindex $pos 0] ni {synth_1 impl_1}} { error "get_runs: no run [lindex $pos 0]" }
        return [lindex $pos 0]
    }
    stub launch_runs {-jobs 1 -to_step 1} 1 1 {
        if {[lindex $pos 0] ni {synth_1 impl_1}} { error "launch_runs: no run [lindex $pos 0]" }
        set ::launched([lindex $pos 0]) [expr {[dict exists $opts -to_step] ? [dict get $opts -to_step] : ""}]
        if {[lindex $pos 0] eq "synth_1"} { write_synthesis_log }
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
