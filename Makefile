# Brevitas model -> streaming dataflow accelerator. Every target sets up .venv itself.
#   make build [MODEL=vgg10] [BOARD=pynq-z2] [FOLDING=f.json | TARGET_FPS=N] [DATA=x.hdf5] [CKPT=x.pt]
#              [INPUT_SHAPE=2,1024] [FRAMES=16] [CLOCK_MHZ=...] [OUT=build/dir]
#   make test | train | bench | boards
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

.PHONY: venv build test train bench boards clean

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
	  --folding "$(FOLDING)" --target-fps "$(TARGET_FPS)" --data "$(DATA)" --ckpt "$(CKPT)" \
	  --input-shape "$(INPUT_SHAPE)" --clock-mhz "$(CLOCK_MHZ)" --out "$(OUT)"

test: $(STAMP)
	$(PY) -m pytest -q

train: $(STAMP)
	$(PY) -m models.train --model "$(MODEL)" $(if $(DATA),--data "$(DATA)") $(if $(CKPT),--out "$(CKPT)")

bench: $(STAMP)
	$(PY) -m bench

boards: $(STAMP)
	$(PY) -m compiler boards

clean:
	rm -rf build
