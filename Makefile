# Brevitas model -> streaming dataflow accelerator. Every target sets up .venv itself.
#   make build [MODEL=vgg10] [BOARD=pynq-z2] [FOLDING=f.json | TARGET_FPS=N|max] [MAX_RESOURCES=LUT=50000,...]
#              [DATA=x.hdf5] [CKPT=x.pt] [INPUT_SHAPE=2,1024] [FRAMES=16] [CLOCK_MHZ=...] [OUT=build/dir]
#              [FIFO_SIZING=1|0] [RTLSIM_FRAMES=5] [SYNTH_FRAMES=2] [SYNTH=auto|1|0]
#   make rtlsim [MODEL=... BOARD=... | OUT=build/dir] [FRAMES=N] [DATA=x.hdf5]: the built RTL in Verilator again
#   make train [MODEL=vgg10] [DATA=x.hdf5] [CKPT=out.pt] [RECIPE=seed|quick]
#   make prune SCHEDULE=bacalhau|aaronnet|imperial [MODEL=vgg10] [STEPS=N] [CKPT=in.pt] [DATA=x.hdf5] [OUT=out.pt]
#   make eval [MODEL=vgg10] [CKPT=x.pt] [DATA=x.hdf5] [OUT=dir]
#   make bitstream [same variables as build] [BACKEND=hls|rtl]: make build, then vivado/build.sh where the
#              backend's tools are on PATH (hls, the default: Vitis HLS + Vivado; rtl: Vivado alone, from the
#              RTL that rtlsim simulated); otherwise says which is missing and what to run elsewhere
#   make cost [MODEL=vgg10] [CKPT=x.pt] [OUT=x.json]: challenge inference cost (bops, weight bits, score)
#   make test | bench | boards
#   V=1 (build, bitstream, train, prune, eval, cost): an internal error (a bug) prints its traceback too
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export FINN_BUILD_DIR ?= /tmp/finn_build_$(USER)

MODEL ?= vgg10
BOARD ?= pynq-z2
FRAMES ?= 16

.PHONY: venv build rtlsim bitstream test train prune eval cost bench boards clean

venv: $(STAMP)

# Order matters (see ../shared/reference/toolchain.md): the CPU torch wheel first, then the pinned
# packages, then finn-plus without its dependencies (it pins an older brevitas), then its runtime deps.
$(STAMP): requirements/base.txt requirements/finn.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements/base.txt
	$(PY) -m pip install -q --no-deps finn-plus==1.6.1
	$(PY) -m pip install -q -r requirements/finn.txt
	touch $@

build: $(STAMP)
	$(PY) -m compiler build --model="$(MODEL)" --board="$(BOARD)" --frames="$(FRAMES)" \
	  --folding="$(FOLDING)" --target-fps="$(TARGET_FPS)" --max-resources="$(MAX_RESOURCES)" \
	  --data="$(DATA)" --ckpt="$(CKPT)" --input-shape="$(INPUT_SHAPE)" --clock-mhz="$(CLOCK_MHZ)" --out="$(OUT)" \
	  --fifo-sizing="$(FIFO_SIZING)" --rtlsim-frames="$(RTLSIM_FRAMES)" --synth-frames="$(SYNTH_FRAMES)" --synth="$(SYNTH)" $(if $(V),-v)

# The built RTL in Verilator again, on more frames (FRAMES=) or on a dataset (DATA=): exact against cppsim.
rtlsim: $(STAMP)
	$(PY) -m compiler rtlsim --model="$(MODEL)" --board="$(BOARD)" --out="$(OUT)" --data="$(DATA)" \
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
	$(PY) -m compiler.board bitstream --model "$(MODEL)" --board "$(BOARD)" --out "$(OUT)" --backend "$(BACKEND)" \
	  $(if $(V),-v)

# On every core (pytest-xdist; slow artefacts are built once per run, shared by file lock: tests/conftest.py);
# --durations: the slowest tests listed, where the suite's time goes
test: $(STAMP)
	$(PY) -m pytest -q -n auto --durations=15

# The seeds' recipe on real data (DATA=), a short CPU run on synthetic data; RECIPE= overrides.
train: $(STAMP)
	$(PY) -m models.train --model "$(MODEL)" $(if $(DATA),--data "$(DATA)") $(if $(CKPT),--out "$(CKPT)") \
	  $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(V),-v)

prune: $(STAMP)
	$(PY) -m models.prune --model "$(MODEL)" $(if $(SCHEDULE),--schedule "$(SCHEDULE)") $(if $(STEPS),--steps "$(STEPS)") \
	  $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") $(if $(RECIPE),--recipe "$(RECIPE)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

eval: $(STAMP)
	$(PY) -m models.evaluate --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

cost: $(STAMP)
	$(PY) -m models.cost --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(INPUT_SHAPE),--input-shape "$(INPUT_SHAPE)") \
	  $(if $(OUT),--out "$(OUT)") $(if $(V),-v)

bench: $(STAMP)
	$(PY) -m bench

boards: $(STAMP)
	$(PY) -m compiler boards

clean:
	rm -rf build
