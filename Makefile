# Convenience front end for CMake. `make test` is the README's (and CI's) test command.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# WERROR=1: warnings are errors (CI). Not named MAPALLOC_*: the library
# warns about every MAPALLOC_ variable that is not one of its options.
ifeq ($(WERROR),1)
CMAKE_FLAGS += -DMAPALLOC_WERROR=ON
endif

.PHONY: all build test bench bench-quick install clean tour demo

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	python3 bench/run.py --build $(BUILD)

bench-quick: build
	python3 bench/run.py --build $(BUILD) --quick

# The README's main command: the layout tour under mapwatch, on glibc and on mapalloc.
tour: build
	@echo "== layout tour on glibc's malloc =="
	$(BUILD)/mapwatch --html $(BUILD)/tour-glibc.html --json $(BUILD)/tour-glibc.jsonl -- $(BUILD)/examples/layout-tour
	@echo "== layout tour on mapalloc =="
	LD_PRELOAD=$(CURDIR)/$(BUILD)/libmapalloc.so $(BUILD)/mapwatch --html $(BUILD)/tour-mapalloc.html \
	    --json $(BUILD)/tour-mapalloc.jsonl -- $(BUILD)/examples/layout-tour
	@echo "reports: $(BUILD)/tour-glibc.html $(BUILD)/tour-mapalloc.html"

# A real program on mapalloc, with the allocator's statistics at exit.
demo: build
	MAPALLOC_STATS=1 LD_PRELOAD=$(CURDIR)/$(BUILD)/libmapalloc.so python3 -c \
	    'import json; d = {str(i): [i] * 8 for i in range(200000)}; print(len(json.dumps(d)), "bytes of JSON")'

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
