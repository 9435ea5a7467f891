import json
import os

import pytest
from qonnx.custom_op.registry import getCustomOp

from compiler import folding
from compiler.folding import FoldingError, legal_values
from compiler.hwgraphs import chain, inst, mvau, tiny_cnn

CLOCK_MHZ = 100


def cycles(model):
    return {n.name: int(getCustomOp(n).get_exp_cycles()) for n in model.graph.node}


def problems_of(excinfo):
    return str(excinfo.value).splitlines()[1:]


# ---- legal values -----------------------------------------------------------------------------

SWG_ATTRS = dict(IFMDim=[8, 8], ConvKernelDim=[3, 3], IFMChannels=12, OFMDim=[6, 6], Stride=[1, 1], Dilation=[1, 1],
                 SIMD=1, inputDataType="UINT4", outputDataType="UINT4")
LEGAL = [
    ("MVAU", dict(MW=12, MH=8, PE=1, SIMD=1, inputDataType="INT4", weightDataType="INT4", outputDataType="INT16"),
     {"PE": [1, 2, 4, 8], "SIMD": [1, 2, 3, 4, 6, 12]}),
    ("MVAU_rtl", dict(MW=12, MH=8, PE=1, SIMD=1, inputDataType="INT4", weightDataType="INT4", outputDataType="INT16"),
     {"PE": [1, 2, 4, 8], "SIMD": [1, 2, 3, 4, 6, 12], "resType": ["auto", "dsp"]}),
    # finn-hlslib's MVAU needs SIMD >= MW / 1024
    ("MVAU_hls", dict(MW=4096, MH=2, PE=1, SIMD=4, inputDataType="INT4", weightDataType="INT4", outputDataType="INT16"),
     {"PE": [1, 2], "SIMD": [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]}),
    ("VVAU_hls", dict(PE=1, SIMD=1, Dim=[6, 6], Channels=12, Kernel=[3, 3], inputDataType="UINT4",
                      weightDataType="INT4", outputDataType="INT16"),
     {"PE": [1, 2, 3, 4, 6, 12], "SIMD": [1, 3, 9]}),
    ("ConvolutionInputGenerator_rtl", SWG_ATTRS, {"SIMD": [1, 2, 3, 4, 6, 12], "parallel_window": [0, 1]}),
    ("ConvolutionInputGenerator_rtl", {**SWG_ATTRS, "parallel_window": 1}, {"SIMD": [12]}),
    ("ConvolutionInputGenerator_rtl", {**SWG_ATTRS, "parallel_window": 1, "depthwise": 1},
     {"SIMD": [1, 2, 3, 4, 6, 12]}),
    ("ConvolutionInputGenerator_rtl", {**SWG_ATTRS, "dynamic_mode": 1}, {"parallel_window": [0]}),
    ("Thresholding_hls", dict(NumChannels=6, PE=1, numSteps=3, inputDataType="INT8", weightDataType="INT8",
                              outputDataType="UINT2"),
     {"PE": [1, 2, 3, 6], "ram_style": ["block", "distributed"], "mem_mode": ["internal_decoupled",
                                                                              "internal_embedded"]}),
    ("Thresholding_rtl", dict(NumChannels=10, PE=1, numSteps=3, inputDataType="INT8", weightDataType="INT8",
                              outputDataType="UINT2"), {"PE": [1, 2, 5, 10]}),
    ("Pool_hls", dict(Channels=9, PE=1, KernelSize=[2, 2], Function="MaxPool", OutImgDims=[4, 4],
                      InputDataType="UINT4", OutputDataType="UINT4"), {"PE": [1, 3, 9]}),
    ("FMPadding_rtl", dict(ImgDim=[8, 8], Padding=[1, 1, 1, 1], NumChannels=6, SIMD=1, inputDataType="UINT4"),
     {"SIMD": [1, 2, 3, 6]}),
    ("LabelSelect_hls", dict(Labels=24, PE=1, K=1, inputDataType="INT16"), {"PE": [1, 2, 3, 4, 6, 8, 12, 24]}),
    ("GlobalAccPool_hls", dict(NumChannels=10, PE=1, inputDataType="UINT4", numInputVectors=[1, 4, 4]),
     {"PE": [1, 2, 5, 10]}),
    ("DuplicateStreams_hls", dict(NumChannels=4, PE=1, NumOutputStreams=2, inputDataType="UINT4"), {"PE": [1, 2, 4]}),
    ("StreamingConcat_hls", dict(SIMD=1, ChannelsPerStream=[12, 8], inputDataTypes=["UINT4", "UINT4"]),
     {"SIMD": [1, 2, 4]}),
    # AddStreams of older FINN: PE folds the last axis
    ("ElementwiseAdd_hls", dict(lhs_dtype="INT4", rhs_dtype="INT4", out_dtype="INT5", lhs_shape=[1, 4, 4, 6],
                                rhs_shape=[1, 4, 4, 6], out_shape=[1, 4, 4, 6]), {"PE": [1, 2, 3, 6]}),
    ("StreamingFIFO_rtl", dict(depth=32, folded_shape=[1, 4, 2], normal_shape=[1, 8], dataType="UINT4"),
     {"impl_style": ["rtl", "virtual"], "ram_style": ["auto", "block", "distributed", "srl", "ultra"]}),
]


@pytest.mark.parametrize("op_type,attrs,expected", LEGAL, ids=[f"{case[0]}-{i}" for i, case in enumerate(LEGAL)])
def test_legal_values(op_type, attrs, expected):
    legal = legal_values(inst(op_type, **attrs))
    assert {attr: legal[attr] for attr in expected} == expected


def test_mvau_legal_values_cover_memory_attributes():
    legal = legal_values(inst("MVAU_hls", MW=8, MH=8, PE=1, SIMD=1, inputDataType="INT4", weightDataType="INT4",
                              outputDataType="INT16"))
    # our kernels keep the weights in ROMs the bitstream initialises: on chip, not writeable, not URAM
    assert legal["runtime_writeable_weights"] == [0]
    assert legal["resType"] == ["auto", "dsp", "lut"]
    assert legal["mem_mode"] == ["internal_decoupled", "internal_embedded"]
    assert legal["ram_style"] == ["auto", "block", "distributed"]


def test_ops_without_folding_have_no_legal_values():
    dwc = inst("StreamingDataWidthConverter_hls", inShape=[1, 8], outShape=[1, 8], inWidth=8, outWidth=16,
               dataType="UINT4")
    assert legal_values(dwc) == {}


# ---- extract / save / load / apply ------------------------------------------------------------

def test_extract_lists_every_hw_node_in_graph_order():
    model = tiny_cnn()
    config = folding.extract(model)
    assert list(config) == ["Defaults"] + [n.name for n in model.graph.node]
    assert config["Defaults"] == {}
    assert config["conv0"] == {"PE": 1, "SIMD": 1, "ram_style": "auto", "ram_style_thresholds": "auto",
                               "resType": "lut", "mem_mode": "internal_decoupled", "runtime_writeable_weights": 0}
    assert config["conv0_swg"] == {"SIMD": 1, "parallel_window": 0, "ram_style": "distributed"}
    assert config["top1"] == {"PE": 1}
    assert config["act1"] == {"PE": 1, "runtime_writeable_weights": 0, "depth_trigger_uram": 0,
                              "depth_trigger_bram": 0}


def test_round_trip(tmp_path):
    model = tiny_cnn()
    config = folding.extract(model)
    config["conv0"].update(PE=4, SIMD=3, ram_style="block")
    config["pool0_swg"]["SIMD"] = config["pool0"]["PE"] = 8
    config["top1"]["PE"] = 2
    path = tmp_path / "folding.json"
    folding.save(config, path)
    assert folding.load(path) == config
    folded = folding.apply(model, folding.load(path))
    assert folding.extract(folded) == config
    assert folding.extract(model)["conv0"]["PE"] == 1, "apply returns a copy"
    assert cycles(folded)["conv0"] == 8 // 4 * 6 // 3 * 32


def test_save_is_stable_and_readable(tmp_path):
    config = {"b": {"SIMD": 2, "PE": 4, "ram_style": "auto"}, "Defaults": {}, "a": {"PE": 1}}
    path = tmp_path / "sub" / "folding.json"
    folding.save(config, path)
    text = path.read_text()
    assert text == json.dumps({"Defaults": {}, "b": {"PE": 4, "SIMD": 2, "ram_style": "auto"}, "a": {"PE": 1}},
                              indent=2) + "\n"
    folding.save(json.loads(text), path)
    assert path.read_text() == text
    assert os.listdir(path.parent) == ["folding.json"], "no temporary files left behind"


def test_finn_written_config_applies_unchanged(tmp_path):
    """FINN's own exporter writes the file; our apply takes it, and FINN's ApplyConfig takes ours."""
    from finn.transformation.general import ApplyConfig
    from finn.util.config import extract_model_config_to_json

    source = folding.apply(tiny_cnn(), {"conv0": {"PE": 2, "SIMD": 6}, "fc2": {"PE": 4, "resType": "dsp"},
                                        "act1": {"PE": 8}})
    finn_file = tmp_path / "auto_folding_config.json"
    extract_model_config_to_json(source, finn_file, folding.FOLDING_ATTRS)
    ours = folding.apply(tiny_cnn(), folding.load(finn_file))
    assert folding.extract(ours) == folding.extract(source)

    our_file = tmp_path / "folding.json"
    folding.save(folding.extract(source), our_file)
    theirs = tiny_cnn().transform(ApplyConfig(str(our_file)))
    assert folding.extract(theirs) == folding.extract(source)


def test_defaults_apply_by_op_type_and_lose_to_node_entries():
    config = {"Defaults": {"PE": [2, ["MVAU_hls"]], "ram_style": ["block", "all"]}, "fc2": {"PE": 4}}
    folded = folding.extract(folding.apply(tiny_cnn(), config))
    assert folded["conv0"]["PE"] == 2 and folded["fc2"]["PE"] == 4
    assert folded["conv0"]["ram_style"] == folded["fc2"]["ram_style"] == folded["conv0_swg"]["ram_style"] == "block"
    assert folded["act1"]["PE"] == 1, "defaults for MVAU_hls leave other ops alone"


def test_fifo_attributes_are_accepted():
    folded = folding.apply(tiny_cnn(), {"conv0": {"inFIFODepths": [32, 2], "outFIFODepths": [64]}})
    inst0 = getCustomOp(folded.get_node_from_name("conv0"))
    assert inst0.get_nodeattr("inFIFODepths") == [32, 2] and inst0.get_nodeattr("outFIFODepths") == [64]


# ---- errors ---------------------------------------------------------------------------------

def test_unknown_node_lists_the_hw_nodes():
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), {"Defaults": {}, "MVAU_hls_0": {"PE": 2}}, source="my_folding.json")
    message = str(err.value)
    assert message.startswith("my_folding.json: 1 problem(s)")
    assert '"MVAU_hls_0"' in message
    assert "pad0, conv0_swg, conv0, pool0_swg, pool0, dw1_swg, dw1, act1, fc2, gap, top1" in message


def test_unknown_attribute_names_the_op_and_its_attributes():
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), {"conv0_swg": {"PE": 2}, "conv0": {"MW": 12}})
    swg_line, mvau_line = problems_of(err)
    assert swg_line.startswith('  conv0_swg (ConvolutionInputGenerator_rtl): "PE" is not a folding attribute')
    assert "SIMD, parallel_window, ram_style" in swg_line
    assert mvau_line.startswith('  conv0 (MVAU_hls): "MW" is not a folding attribute of MVAU_hls')


def test_a_boolean_is_not_taken_as_an_integer():
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), {"conv0": {"PE": True}, "act1": {"PE": False}})
    assert problems_of(err) == ["  conv0 (MVAU_hls): PE=true has the wrong type: expected an integer",
                                "  act1 (Thresholding_rtl): PE=false has the wrong type: expected an integer"]


@pytest.mark.parametrize("node,attr,value,reason,legal", [
    ("conv0", "PE", 3, "PE must divide MH=8", "1, 2, 4, 8"),
    ("conv0", "SIMD", 4, "SIMD must divide MW=6", "1, 2, 3, 6"),
    ("dw1", "SIMD", 2, "SIMD must divide the kernel size (Kernel=[3, 1]: 3)", "1, 3"),
    ("dw1", "PE", 3, "PE must divide Channels=8", "1, 2, 4, 8"),
    ("conv0_swg", "SIMD", 4, "SIMD must divide IFMChannels=2", "1, 2"),
    ("act1", "PE", 16, "PE must divide NumChannels=8", "1, 2, 4, 8"),
    ("pool0", "PE", 5, "PE must divide Channels=8", "1, 2, 4, 8"),
    ("pad0", "SIMD", 4, "SIMD must divide NumChannels=2", "1, 2"),
    ("gap", "PE", 3, "PE must divide NumChannels=4", "1, 2, 4"),
    ("top1", "PE", 3, "PE must divide Labels=4", "1, 2, 4"),
    ("conv0", "ram_style", "bram", "MVAU_hls knows only the values below",
     '"auto", "block", "distributed"'),
    ("conv0", "ram_style", "ultra", "ROMs the bitstream initialises, which UltraRAM cannot be",
     '"auto", "block", "distributed"'),
    ("conv0", "mem_mode", "decoupled", "MVAU_hls knows only", '"internal_decoupled", "internal_embedded"'),
    ("conv0", "mem_mode", "external", "our kernels keep its constants on chip",
     '"internal_decoupled", "internal_embedded"'),
    ("conv0", "runtime_writeable_weights", 1, "not writeable at run time", "0"),
])
def test_illegal_value_names_node_attribute_value_and_legal_values(node, attr, value, reason, legal):
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), {node: {attr: value}}, source="folding.json")
    # (a depthwise consumer's PE also breaks its pairing with the window generator: a second line)
    line = problems_of(err)[0]
    assert line.startswith(f"  {node} (")
    assert f"{attr}={json.dumps(value)} is not legal" in line
    assert reason in line
    assert line.endswith(f"legal values: {legal}")


def test_cross_attribute_rules_see_the_new_values_together():
    # parallel_window=1 needs SIMD == IFMChannels; both set in one config is fine ...
    folding.validate(tiny_cnn(), {"conv0_swg": {"SIMD": 2, "parallel_window": 1}})
    # ... but not with a partial SIMD
    with pytest.raises(FoldingError, match=r"conv0_swg .*SIMD=1 is not legal: .*parallel_window=1 .*legal values: 2$"):
        folding.validate(tiny_cnn(), {"conv0_swg": {"parallel_window": 1}})


def test_depthwise_window_generator_must_match_its_consumer():
    folding.validate(tiny_cnn(), {"pool0_swg": {"SIMD": 4}, "pool0": {"PE": 4}})
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), {"dw1": {"PE": 4}})
    (line,) = problems_of(err)
    assert line == ("  dw1_swg (ConvolutionInputGenerator_rtl): SIMD=1 must equal PE=4 of dw1 (VVAU_hls), "
                    "which consumes its depthwise windows")


def test_wrong_types_and_malformed_entries():
    config = {"Defaults": {"PE": 2, "SIMD": [1, 5], "resType": ["lut", ["MVAU"]]}, "conv0": {"PE": "4"}, "fc2": 4,
              "top1": {"PE": 1.0}}
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), config)
    lines = problems_of(err)
    assert lines == [
        '  Defaults: PE=2: expected [value, ["OpType", ...] or "all", ...]',
        '  Defaults: SIMD: expected a list of op types or "all", got 5',
        '  Defaults: resType: no HW node has op type "MVAU"; the graph has FMPadding_rtl, '
        'ConvolutionInputGenerator_rtl, MVAU_hls, Pool_hls, VVAU_hls, Thresholding_rtl, GlobalAccPool_hls, '
        'LabelSelect_hls',
        "  fc2: expected an object of attributes, got 4",
        '  conv0 (MVAU_hls): PE="4" has the wrong type: expected an integer',
        "  top1 (LabelSelect_hls): PE=1.0 has the wrong type: expected an integer",
    ]


def test_all_problems_are_reported_at_once():
    config = {"nope": {}, "conv0": {"PE": 3, "SIMD": 5, "bogus": 1}, "top1": {"PE": 3}}
    with pytest.raises(FoldingError) as err:
        folding.validate(tiny_cnn(), config, source="folding.json")
    lines = problems_of(err)
    assert str(err.value).startswith("folding.json: 5 problem(s) in the folding config:")
    assert len(lines) == 5
    assert any('"nope"' in line for line in lines)
    assert any("PE=3" in line and "conv0" in line for line in lines)
    assert any("SIMD=5" in line for line in lines)
    assert any('"bogus"' in line for line in lines)
    assert any("top1" in line for line in lines)


def test_apply_refuses_an_illegal_config_and_leaves_the_model_alone():
    model = tiny_cnn()
    with pytest.raises(FoldingError):
        folding.apply(model, {"conv0": {"PE": 8, "SIMD": 5}})
    assert getCustomOp(model.get_node_from_name("conv0")).get_nodeattr("PE") == 1


def test_load_reports_bad_json(tmp_path):
    path = tmp_path / "folding.json"
    path.write_text('{"conv0": {"PE": 2,}}')
    with pytest.raises(FoldingError, match="folding.json: not valid JSON"):
        folding.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(FoldingError, match="JSON object"):
        folding.load(path)


def test_node_names_must_be_unique():
    model = tiny_cnn()
    model.graph.node[1].name = "pad0"
    with pytest.raises(FoldingError, match='empty or repeated: "pad0"'):
        folding.extract(model)


# ---- auto folding -------------------------------------------------------------------------------

def _at_max_folding(node_inst):
    legal = legal_values(node_inst)
    return all(node_inst.get_nodeattr(a) == legal[a][-1] for a in ("PE", "SIMD") if a in legal)


@pytest.mark.parametrize("target_cycles", [2000, 400, 60, 20])
def test_auto_fold_is_legal_and_meets_reachable_targets(target_cycles):
    model = tiny_cnn()
    folded = folding.auto_fold(model, target_fps=CLOCK_MHZ * 1e6 / target_cycles, clock_mhz=CLOCK_MHZ)
    assert [n.name for n in folded.graph.node] == [n.name for n in model.graph.node], "names are kept"
    folding.validate(folded, folding.extract(folded))
    # Only nodes that cannot be folded further may miss the target; the rest are balanced to the
    # slowest of those (SetFolding's second pass).
    result = cycles(folded)
    stuck = [result[n.name] for n in folded.graph.node if _at_max_folding(getCustomOp(n))]
    bound = max([target_cycles] + [c for c in stuck if c > target_cycles])
    assert max(result.values()) <= bound


def test_auto_fold_meets_a_reachable_target_everywhere():
    folded = folding.auto_fold(tiny_cnn(), target_fps=CLOCK_MHZ * 1e6 / 400, clock_mhz=CLOCK_MHZ)
    assert max(cycles(folded).values()) <= 400
    assert cycles(folded)["conv0"] < cycles(tiny_cnn())["conv0"]


def test_auto_fold_keeps_depthwise_pairs_in_step():
    folded = folding.extract(folding.auto_fold(tiny_cnn(), target_fps=1e6, clock_mhz=CLOCK_MHZ))
    assert folded["pool0_swg"]["SIMD"] == folded["pool0"]["PE"]
    assert folded["dw1_swg"]["SIMD"] == folded["dw1"]["PE"]


def test_auto_fold_rejects_what_set_folding_gets_wrong():
    # 16-bit weights: FINN's usual 36-bit weight-width cap stops SIMD at 2, but MVAU_hls needs SIMD >= MW/1024.
    model = chain(mvau("wide", 4096, 1, wdt="INT16"))
    with pytest.raises(FoldingError) as err:
        folding.auto_fold(model, target_fps=1e6, clock_mhz=CLOCK_MHZ, mvau_wwidth_max=36)
    assert str(err.value).startswith("SetFolding(target_cycles_per_frame=100): 1 problem(s)")
    assert "wide (MVAU_hls): SIMD=2 is not legal" in str(err.value)
    assert "MVAU_hls needs SIMD >= MW/1024 = 4" in str(err.value)


def test_auto_fold_needs_specialized_nodes():
    model = chain(mvau("generic", 8, 8, op="MVAU"), mvau("fc", 8, 8))
    with pytest.raises(FoldingError, match="run SpecializeLayers first. Not specialized: generic$"):
        folding.auto_fold(model, target_fps=1e6, clock_mhz=CLOCK_MHZ)


# ---- folding show -------------------------------------------------------------------------------

def test_table_shows_each_layers_share_of_the_bottleneck_and_the_balance():
    import boards
    from compiler.folding.edit import table

    folded = folding.apply(tiny_cnn(), {"conv0": {"PE": 2, "SIMD": 3}})
    text = table(folded, boards.get("pynq-z2"), CLOCK_MHZ)
    header, *rows = text.split("\n\n")[0].splitlines()
    assert "of bottleneck" in header
    bottleneck = max(cycles(folded).items(), key=lambda item: item[1])[0]
    assert any(row.startswith(bottleneck) and "100%" in row for row in rows)
    assert "\npipeline balance " in text and "bottleneck cycles" in text
