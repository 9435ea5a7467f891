# Brevitas model -> streaming dataflow accelerator. Every target sets up .venv itself.
#   make build [MODEL=vgg10] [BOARD=pynq-z2] [FOLDING=f.json | TARGET_FPS=N|max] [MAX_RESOURCES=LUT=50000,...]
#              [DATA=x.hdf5] [CKPT=x.pt] [BITS=bits.json] [INPUT_SHAPE=2,1024] [FRAMES=16] [CLOCK_MHZ=...] [OUT=build/dir]
#              [FIFO_SIZING=1|0] [RTLSIM_FRAMES=5] [SYNTH_FRAMES=2] [SYNTH=auto|1|0] [SYNTH_TIMEOUT=900] [COST_MODEL=finn|ours]
#              [INPUT_PHASES=1|2|...: samples per pixel of a 1D network's first conv and pool]
#              [CONFIG=build.json|.yaml: options as in a build's build_config.json; variables given win]
#   make rtlsim [MODEL=... BOARD=... | OUT=build/dir] [FRAMES=N] [DATA=x.hdf5]: the built RTL in Verilator again
#   make train [MODEL=vgg10] [DATA=x.hdf5] [OUT=out.pt] [RECIPE=seed|quick] [BITS=bits.json]
#   make search [MODEL=vgg10] [BOARD=pynq-z2] [TARGET_FPS=10000] [CD=3e-5] [DATA=x.hdf5] [WEIGHT_BITS=2,4,6,8]
#              [ACT_BITS=2,4,6,8] [EPOCHS=1] [MAX_BATCHES=300] [OUT=search/MODEL-BOARD]: mixed-precision search
#              (MixQ's, with the folding optimizer's cost) -> OUT/bits.json (BITS= of train and build), search.png
#   make finetune MODEL=aaronnet32 CKPT=published.pth [DATA=x.hdf5] [OUT=x.pt]: a few epochs of QAT from given
#              weights (a team's file: imported, the hardware variant's added quantizers calibrated)
#   make prune SCHEDULE=bacalhau|aaronnet|imperial [MODEL=vgg10] [STEPS=N] [CKPT=in.pt] [DATA=x.hdf5] [OUT=out.pt]
#   make eval [MODEL=vgg10] [CKPT=x.pt] [DATA=x.hdf5] [OUT=dir]
#   make bitstream [same variables as build] [BACKEND=hls|rtl]: make build, then vivado/build.sh where the
#              backend's tools are on PATH (hls, the default: Vitis HLS + Vivado; rtl: Vivado alone, from the
#              RTL that rtlsim simulated); otherwise says which is missing and what to run elsewhere
#   make cost [MODEL=vgg10] [CKPT=x.pt] [OUT=x.json]: challenge inference cost (bops, weight bits, score)
#   make import MODEL=bacalhau|aaronnet32|imperial|...-faithful CKPT=team.pth OUT=x.pt: a challenge team's
#              published weights as the zoo model's checkpoint (CKPT= of build/cost/eval also takes them as they are)
#   make sweep SWEEP=sweep.yaml [WORKERS=N]: a grid of builds as Ray tasks -> sweeps/<name>/results.csv, pareto.png
#   make verify-dataset OUT=build/dir [DATA=x.hdf5] [SIM=cppsim|rtlsim] [SHARDS=N] [WORKERS=N] [FRAMES=N]: the
#              build's simulator over the whole test split, sharded on Ray -> OUT/dataset/.../result.json
#              (RAY_ADDRESS=host:port: on that Ray cluster instead of a local one)
#   make calibrate: Yosys syntheses of a sweep of lone MVAU/VVAU/Thresholding layers -> the cost model's
#              coefficients and held-out errors for each FPGA family (compiler/estimate/calibration_<family>.json)
#   make test | bench | boards
#   V=1 (build, bitstream, train, prune, eval, cost): an internal error (a bug) prints its traceback too, and
#              build shows the libraries' output (else only in build.log)
# Each target is a thin wrapper over the `dfa` command the venv installs (.venv/bin/dfa build ..., dfa --help).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DFA := $(VENV)/bin/dfa
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export FINN_BUILD_DIR ?= /tmp/finn_build_$(USER)

MODEL ?= vgg10
BOARD ?= pynq-z2
FRAMES ?= 16
# `--option="$(VAR)"` if VAR was given (command line or environment), not the default above
given = $(if $(filter file,$(origin $(1))),,$(2)="$($(1))")

.PHONY: venv build rtlsim bitstream calibrate test train search finetune prune eval cost import sweep verify-dataset bench boards clean

venv: $(STAMP)

# Order matters (see ../shared/reference/toolchain.md): the CPU torch wheel first, then the pinned
# packages, then finn-plus without its dependencies (it pins an older brevitas), then its runtime deps.
$(STAMP): requirements/base.txt requirements/finn.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements/base.txt
	$(PY) -m pip install -q --no-deps finn-plus==1.6.1
	$(PY) -m pip install -q -r requirements/finn.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# MODEL/BOARD/FRAMES only when given, so that CONFIG= can set them
build: $(STAMP)
	$(DFA) build --config="$(CONFIG)" $(call given,MODEL,--model) $(call given,BOARD,--board) $(call given,FRAMES,--frames) \
	  --folding="$(FOLDING)" --target-fps="$(TARGET_FPS)" --max-resources="$(MAX_RESOURCES)" \
	  --data="$(DATA)" --ckpt="$(CKPT)" --bits="$(BITS)" --input-shape="$(INPUT_SHAPE)" --clock-mhz="$(CLOCK_MHZ)" --out="$(OUT)" \
	  --cost-model="$(COST_MODEL)" --fifo-sizing="$(FIFO_SIZING)" --rtlsim-frames="$(RTLSIM_FRAMES)" --synth-frames="$(SYNTH_FRAMES)" --synth="$(SYNTH)" --synth-timeout="$(SYNTH_TIMEOUT)" --input-phases="$(INPUT_PHASES)" $(if $(V),-v)

# The built RTL in Verilator again, on more frames (FRAMES=) or on a dataset (DATA=): exact against cppsim.
rtlsim: $(STAMP)
	$(DFA) rtlsim --model="$(MODEL)" --board="$(BOARD)" --out="$(OUT)" --data="$(DATA)" \
	  --frames="$(FRAMES)" $(if $(V),-v)

# Never pretends: without the backend's tools it names the missing one and the command to run elsewhere, and
# fails. BACKEND is checked before the build starts.
BACKEND ?= hls
ifneq ($(filter bitstream,$(MAKECMDGOALS)),)
ifeq ($(filter $(BACKEND),hls rtl),)
$(error BACKEND=$(BACKEND) is not a backend: hls (Vitis HLS, then Vivado; the default) or rtl (Vivado alone))
endif
endif
bitstream: build
	$(DFA) bitstream --model "$(MODEL)" --board "$(BOARD)" --out "$(OUT)" --backend "$(BACKEND)" \
	  $(if $(V),-v)

# On every core (pytest-xdist; a slow build is shared by the tests of a module, per worker);
# --durations: the slowest tests listed, where the suite's time goes
test: $(STAMP)
	$(PY) -m pytest -q -n auto --durations=15

# The seeds' recipe on real data (DATA=), a short CPU run on synthetic data; RECIPE= overrides.
train: $(STAMP)
	$(if $(CKPT),$(error CKPT= is weights read, everywhere; make train writes its checkpoint to OUT=))
	$(DFA) train --model "$(MODEL)" $(if $(DATA),--data "$(DATA)") $(if $(OUT),--out "$(OUT)") \
	  $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(BITS),--bits "$(BITS)") $(if $(V),-v)

# Per-layer bit widths searched with the hardware cost in the loss; synthetic data unless DATA= is given.
search: $(STAMP)
	$(DFA) search --model "$(MODEL)" --board "$(BOARD)" $(if $(TARGET_FPS),--target-fps "$(TARGET_FPS)") $(if $(CD),--cd "$(CD)") \
	  $(if $(DATA),--data "$(DATA)") $(if $(WEIGHT_BITS),--weight-bits "$(WEIGHT_BITS)") $(if $(ACT_BITS),--act-bits "$(ACT_BITS)") \
	  $(if $(EPOCHS),--epochs "$(EPOCHS)") $(if $(MAX_BATCHES),--max-batches "$(MAX_BATCHES)") $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

# A few epochs of QAT from CKPT= (e.g. a team's published weights, imported into MODEL's hardware variant)
finetune: $(STAMP)
	$(DFA) train --model "$(MODEL)" --ckpt "$(CKPT)" --recipe finetune $(if $(DATA),--data "$(DATA)") \
	  --out "$(or $(OUT),checkpoints/$(MODEL)-finetuned.pt)" $(if $(V),-v)

prune: $(STAMP)
	$(DFA) prune --model "$(MODEL)" $(if $(SCHEDULE),--schedule "$(SCHEDULE)") $(if $(STEPS),--steps "$(STEPS)") \
	  $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") $(if $(RECIPE),--recipe "$(RECIPE)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

eval: $(STAMP)
	$(DFA) eval --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

cost: $(STAMP)
	$(DFA) cost --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(INPUT_SHAPE),--input-shape "$(INPUT_SHAPE)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

# On Ray: a local one with a worker per core (WORKERS=N), or the cluster at RAY_ADDRESS
sweep: $(STAMP)
	$(DFA) sweep "$(SWEEP)" $(if $(WORKERS),--workers "$(WORKERS)") $(if $(V),-v)

verify-dataset: $(STAMP)
	$(DFA) verify-dataset --out "$(OUT)" $(if $(DATA),--data "$(DATA)") $(if $(SIM),--sim "$(SIM)") \
	  $(if $(SHARDS),--shards "$(SHARDS)") $(if $(WORKERS),--workers "$(WORKERS)") $(call given,FRAMES,--frames) \
	  $(if $(V),-v)

import: $(STAMP)
	$(DFA) import --model "$(MODEL)" "$(CKPT)" --out "$(OUT)" $(if $(V),-v)

calibrate: $(STAMP)
	$(PY) -m compiler.estimate.calibrate

bench: $(STAMP)
	$(PY) -m bench

boards: $(STAMP)
	$(DFA) boards

clean:
	rm -rf build
