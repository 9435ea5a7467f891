# Brevitas model -> streaming dataflow accelerator. Every target sets up .venv itself.
#   make build [MODEL=vgg10] [BOARD=pynq-z2] [FOLDING=f.json | TARGET_FPS=N|max] [MAX_RESOURCES=LUT=50000,...]
#              [DATA=x.hdf5] [CKPT=x.pt] [INPUT_SHAPE=2,1024] [FRAMES=16] [CLOCK_MHZ=...] [OUT=build/dir]
#   make train [MODEL=vgg10] [DATA=x.hdf5] [CKPT=out.pt] [RECIPE=seed|quick]
#   make prune SCHEDULE=bacalhau|aaronnet|imperial [MODEL=vgg10] [STEPS=N] [CKPT=in.pt] [DATA=x.hdf5] [OUT=out.pt]
#   make eval [MODEL=vgg10] [CKPT=x.pt] [DATA=x.hdf5] [OUT=dir]
#   make bitstream [same variables as build]: make build, then Vitis HLS + Vivado (vivado/build.sh) where
#              vitis_hls and vivado are on PATH; otherwise says which is missing and what to run elsewhere
#   make cost [MODEL=vgg10] [CKPT=x.pt] [OUT=x.json]: challenge inference cost (bops, weight bits, score)
#   make test | bench | boards
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

.PHONY: venv build bitstream test train prune eval cost bench boards clean

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
	$(PY) -m compiler build --model "$(MODEL)" --board "$(BOARD)" --frames "$(FRAMES)" \
	  --folding "$(FOLDING)" --target-fps "$(TARGET_FPS)" --max-resources "$(MAX_RESOURCES)" \
	  --data "$(DATA)" --ckpt "$(CKPT)" --input-shape "$(INPUT_SHAPE)" --clock-mhz "$(CLOCK_MHZ)" --out "$(OUT)"

# Never pretends: without vitis_hls/vivado it names the missing tool and the command to run elsewhere, and fails.
bitstream: build
	$(PY) -m compiler.board bitstream --model "$(MODEL)" --board "$(BOARD)" --out "$(OUT)"

# --durations: the slowest tests listed, where the suite's time goes
test: $(STAMP)
	$(PY) -m pytest -q --durations=15

# The seeds' recipe on real data (DATA=), a short CPU run on synthetic data; RECIPE= overrides.
train: $(STAMP)
	$(PY) -m models.train --model "$(MODEL)" $(if $(DATA),--data "$(DATA)") $(if $(CKPT),--out "$(CKPT)") \
	  $(if $(RECIPE),--recipe "$(RECIPE)")

prune: $(STAMP)
	$(PY) -m models.prune --model "$(MODEL)" $(if $(SCHEDULE),--schedule "$(SCHEDULE)") $(if $(STEPS),--steps "$(STEPS)") \
	  $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") $(if $(RECIPE),--recipe "$(RECIPE)") \
	  $(if $(OUT),--out "$(OUT)")

eval: $(STAMP)
	$(PY) -m models.evaluate --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(DATA),--data "$(DATA)") \
	  $(if $(OUT),--out "$(OUT)")

cost: $(STAMP)
	$(PY) -m models.cost --model "$(MODEL)" $(if $(CKPT),--ckpt "$(CKPT)") $(if $(INPUT_SHAPE),--input-shape "$(INPUT_SHAPE)") \
	  $(if $(OUT),--out "$(OUT)")

bench: $(STAMP)
	$(PY) -m bench

boards: $(STAMP)
	$(PY) -m compiler boards

clean:
	rm -rf build
